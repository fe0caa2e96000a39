// Progressive enhancement only: every page works without this file.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => document.execCommand("copy") && done());
  } else if (document.execCommand("copy")) {
    done();
  }
});

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// A block with data-refresh-url is re-read every data-refresh-ms milliseconds and
// replaced by the same block of the page fetched (same origin), until data-refresh-url
// disappears from it (a finished job's page has none).
function refresh(block) {
  const url = block.dataset.refreshUrl;
  const every = Number(block.dataset.refreshMs || 1000);
  if (!url) return;
  window.setTimeout(async () => {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (response.ok) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById(block.id);
        if (fresh) {
          block.replaceWith(fresh);
          refresh(fresh);
          return;
        }
      }
    } catch (error) {
      // A failed look is tried again; the page itself still works when reloaded.
    }
    refresh(block);
  }, every);
}
document.querySelectorAll("[data-refresh-url]").forEach(refresh);
