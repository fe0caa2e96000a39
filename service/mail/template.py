"""Invitation templates: a subject, a text body and an HTML body per tenant.

Substitution is `string.Template` (`$name` or `${name}`): no attribute access, no
expressions, no code, so a template an admin saves can only place the values
below. A template naming any other field is refused when it is saved. Values are
HTML-escaped in the HTML body and folded to one line in the subject.

Where the invitation invites to (a role at a scope) is in `role_name`, `scope_name` and
`scope_type`, empty when it names none, and in `where`, which reads on from "invited
you to $tenant_name" (" as View at the folder Folder 1", or nothing). A template saved
before these fields existed renders as it did: a template places only what it names.
"""

from __future__ import annotations

import html
import string
from dataclasses import dataclass

FIELDS = (
    "user_name",
    "display_name",
    "given_name",
    "inviter",
    "accept_url",
    "tenant_name",
    "expires_at",
    "role_name",
    "scope_name",
    "scope_type",
    "where",
)

DEFAULT_SUBJECT = "You are invited to $tenant_name"
DEFAULT_TEXT = """Hello $display_name,

$inviter invited you to $tenant_name$where.

Accept the invitation here:
$accept_url

The link works once and expires at $expires_at.
"""
DEFAULT_HTML = """<!doctype html>
<html><body>
<p>Hello $display_name,</p>
<p>$inviter invited you to <strong>$tenant_name</strong>$where.</p>
<p><a href="$accept_url">Accept the invitation</a></p>
<p>The link works once and expires at $expires_at.</p>
</body></html>
"""


class TemplateProblem(ValueError):
    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part
        self.message = message


@dataclass(frozen=True)
class InvitationTemplate:
    subject: str = DEFAULT_SUBJECT
    text: str = DEFAULT_TEXT
    html: str = DEFAULT_HTML

    def parts(self) -> dict[str, str]:
        return {"subject": self.subject, "text": self.text, "html": self.html}


def validate(template: InvitationTemplate) -> None:
    """Raise TemplateProblem naming the part and the first field that is not allowed."""
    for part, source in template.parts().items():
        compiled = string.Template(source)
        if not compiled.is_valid():
            raise TemplateProblem(
                part, f"The {part} has a '$' that starts no field; write '$$' for a dollar sign"
            )
        unknown = [name for name in compiled.get_identifiers() if name not in FIELDS]
        if unknown:
            raise TemplateProblem(
                part,
                f"The {part} uses the unknown field {unknown[0]!r}; "
                f"allowed fields: {', '.join(FIELDS)}",
            )
    if not template.subject.strip():
        raise TemplateProblem("subject", "The subject must not be empty")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(template: InvitationTemplate, values: dict[str, str]) -> Rendered:
    plain = {name: values.get(name, "") for name in FIELDS}
    one_line = {name: " ".join(value.split()) for name, value in plain.items()}
    escaped = {name: html.escape(value, quote=True) for name, value in plain.items()}
    return Rendered(
        subject=" ".join(string.Template(template.subject).substitute(one_line).split()),
        text=string.Template(template.text).substitute(plain),
        html=string.Template(template.html).substitute(escaped),
    )
