"""The invitee's side: the page a person reaches from the email, and accepting.

No API token here: the invitation token in the URL is the credential. Answers are
never cached and send no Referer, so the link does not leak from the page; the
request log masks it (service.observability). The page is plain HTML with a form,
so it works without JavaScript and without loading anything from elsewhere.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template_string, request
from flask_smorest import Blueprint

from service.domain.errors import NotFound
from service.domain.invitations import GONE_MESSAGES, InvitationGone
from service.http.context import uow
from service.http.redaction import secret_in_path
from service.services import invitations

blueprint = Blueprint(
    "invitations_public",
    __name__,
    url_prefix="/invitations",
    description="Accepting an invitation (no API token: the link's token is the credential)",
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 34rem; margin: 4rem auto; padding: 0 1rem;
       color: #1d2330; }
.card { border: 1px solid #d7dbe3; border-radius: 8px; padding: 1.5rem 2rem; }
button { font-size: 1rem; padding: .6rem 1.4rem; border: 0; border-radius: 6px;
         background: #2452c8; color: #fff; cursor: pointer; }
.notice { padding: .8rem 1rem; border-radius: 6px; background: #fdf0ef; color: #8a1c12; }
.done { padding: .8rem 1rem; border-radius: 6px; background: #ecf7ee; color: #17602a; }
</style>
</head>
<body>
<main class="card">
<h1>{{ title }}</h1>
{% if state == "open" %}
  <p>Hello {{ name }}, {{ inviter }} invited you to <strong>{{ tenant }}</strong>{{ where }}.</p>
  <p>The invitation is valid until {{ expires }}.</p>
  <form method="post" action="{{ action }}">
    <button type="submit" id="accept">Accept invitation</button>
  </form>
{% elif state == "accepted_now" %}
  <p class="done" id="result">Welcome, {{ name }}. You have accepted the invitation to
  <strong>{{ tenant }}</strong>{{ where }}.</p>
  {% if grant_refused %}
  <p class="notice" id="grant">The access this invitation names could not be given yet;
  the person who invited you can see why.</p>
  {% endif %}
{% else %}
  <p class="notice" id="result">{{ message }}</p>
{% endif %}
</main>
</body>
</html>
"""

TITLES = {
    "open": "You are invited",
    "accepted_now": "Invitation accepted",
    "accepted": "Invitation already used",
    "expired": "Invitation expired",
    "revoked": "Invitation withdrawn",
    "failed": "Invitation no longer valid",
    "unknown": "Invitation not found",
}
STATUS_CODES = {"open": 200, "accepted_now": 200, "unknown": 404}


def _page(state: str, view: invitations.TokenView | None = None, token: str = "") -> Response:
    invitation = view.invitation if view else None
    context: dict[str, Any] = {
        "state": state,
        "title": TITLES[state],
        "message": GONE_MESSAGES.get(state, "This invitation link is not valid."),
        "tenant": view.tenant_name if view else "",
        "name": (invitation.display_name or invitation.email) if invitation else "",
        "inviter": (invitation.inviter_name or invitations.DEFAULT_INVITER) if invitation else "",
        "expires": invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC") if invitation else "",
        "action": f"/invitations/{token}/accept",
        "where": view.where if view else "",
        "grant_refused": bool(invitation and invitation.grant_outcome == "refused"),
    }
    response = Response(render_template_string(PAGE, **context), mimetype="text/html")
    response.status_code = STATUS_CODES.get(state, 410)
    return _private(response)


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    )
    return response


def _wants_json() -> bool:
    if request.mimetype == "application/json":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.form


@blueprint.route("/<token>")
@secret_in_path
@blueprint.doc(security=[])
def show(token: str) -> Response:
    """The invitation page a person reaches from the email

    An Accept button, or why the link no longer works.
    """
    try:
        view = invitations.view_token(uow(), token)
    except NotFound:
        return _page("unknown")
    return _page(view.state, view, token)


@blueprint.route("/<token>/accept", methods=["POST"])
@secret_in_path
@blueprint.doc(
    security=[],
    responses={
        "200": {"description": "Accepted"},
        "404": {"description": "No such invitation"},
        "410": {"description": "Used already, expired, revoked or failed"},
    },
)
def accept(token: str) -> Response:
    """Accept an invitation, once

    JSON for API callers; an HTML page for the form.
    """
    as_json = _wants_json()
    try:
        invitation = invitations.accept(uow(), token)
    except (NotFound, InvitationGone) as error:
        if as_json:
            response = jsonify(
                code=error.status,
                status="Gone" if error.status == 410 else "Not Found",
                reason=error.code,
                message=error.message,
            )
            response.status_code = error.status
            return _private(response)
        try:
            view = invitations.view_token(uow(), token)
        except NotFound:
            return _page("unknown")
        return _page(view.state, view, token)
    if as_json:
        return _private(
            jsonify(
                status="accepted",
                invitation_id=invitation.id,
                user_id=invitation.user_id,
                email=invitation.email,
                # Where it invited to, and what accepting did with it (None: nowhere).
                grant=None
                if invitation.grant() is None
                else {
                    "role": invitation.role_key,
                    "scope_id": invitation.scope_id,
                    "outcome": invitation.grant_outcome,
                },
            )
        )
    return _page("accepted_now", invitations.view_token(uow(), token), token)
