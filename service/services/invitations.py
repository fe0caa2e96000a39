"""Use cases on invitations: create, resend, revoke, accept, tenant settings and template.

Each use case takes a unit of work (a fresh one from the caller) and enters it; the
rules of the lifecycle (which status may become which, expiry, rounds) are the
aggregate's, in service.domain.invitations. Here rows are loaded, the aggregate is
asked, and the outcome is kept, audited and, when it must be sent, recorded in the
outbox in the same transaction. Rows are read and written through the unit's
repositories (`uow.invitations`, `uow.users`, `uow.audit`), never a session, so these
use cases run on the fake unit of work (tests/services/test_invitations.py); only the
admin listings (`list_invitations`, `invitation_detail`, `get_invitation`) still read
with `uow.reading()`, outside a transaction.

Tokens. A token is `rci_` + 43 url-safe characters: the HMAC-SHA256, under the
deployment's ROLECALL_SECRET_KEY, of the invitation id, its send round and a random
nonce. The database keeps the nonce and the SHA-256 of the token, never the token:
reading the database alone does not give a working link (that needs the secret
key too), and accepting needs only the hash. The worker derives the token when it
sends, so a message sent again after a lost worker carries the same link and the
same Message-ID; a resend starts a new round with a new nonce, so the old link
stops working. Whoever holds the link holds the invitation, so the token appears
only in the email and in the URL the person follows (the log filter masks `rci_`).

A tenant has at most one live (pending, sending, sent) invitation per user (a
partial unique index), so inviting a user twice, or submitting the same file twice,
never sends twice.

An invitation may name where it invites to, a role at a scope, which accepting it
grants (service.services.invitation_grants).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from service import metrics
from service.domain import invitations as lifecycle
from service.domain.errors import Conflict, NotFound, ValidationFailed
from service.domain.invitations import (
    IllegalTransition,
    InvitationGone,
    InvitationStatus,
    InvitedGrant,
)
from service.mail import template as templates
from service.persistence.base import new_id, utcnow
from service.persistence.invitation_models import (
    Invitation,
    InvitationDelivery,
    InvitationSettings,
)
from service.persistence.scim_models import ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import invitation_grants, scim_users
from service.services.invitation_input import GIVEN_NAME_LENGTH, address_problem, is_row_id
from service.services.invitation_rows import describe, keep, revoke_row
from service.settings import Settings

SEND_TASK = "rolecall.invitations.send"
TOKEN_PREFIX = "rci_"
DEFAULT_INVITER = "An administrator"
PROVISIONING_INVITER = "Your organization"


@dataclass(frozen=True)
class TenantInvitationSettings:
    ttl_hours: int
    invite_scim_users: bool
    rate_limit_per_minute: int


# Tokens ---------------------------------------------------------------------------


def derive_token(secret_key: str, invitation_id: str, send_round: int, nonce: str) -> str:
    digest = hmac.new(
        secret_key.encode("utf-8"),
        f"rolecall-invitation:{invitation_id}:{send_round}:{nonce}".encode(),
        hashlib.sha256,
    ).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def message_id(invitation: Invitation, domain: str) -> str:
    """Deterministic per invitation and round: the same message sent again keeps it,
    so a receiving system that collapses duplicates by Message-ID collapses ours."""
    return f"<invitation.{invitation.id}.{invitation.send_round}@{domain}>"


# Rows and the aggregate: load under a lock, ask, keep, audit --------------------
# (inside the caller's unit of work, through its repositories; shared with delivery
# and bulk invites)


def rules(settings: Settings, ttl_hours: int) -> lifecycle.DeliveryRules:
    """The lifecycle's rules from the deployment's settings and the tenant's TTL."""
    return lifecycle.DeliveryRules(
        ttl=timedelta(hours=ttl_hours),
        lease=timedelta(seconds=settings.invitation_send_lease_seconds),
        max_attempts=settings.invitation_max_attempts,
        retry_base=timedelta(seconds=settings.invitation_retry_base_seconds),
    )


def locked(uow: UnitOfWork, tenant_id: str, invitation_id: str) -> Invitation:
    """The tenant's invitation, under a row lock."""
    invitation = (
        uow.invitations.get(tenant_id, invitation_id, lock=True)
        if is_row_id(invitation_id)
        else None
    )
    if invitation is None:
        raise NotFound("not_found", f"No invitation {invitation_id!r}", field="id")
    return invitation


def expire_if_due(row: Invitation, now: datetime) -> bool:
    state = row.lifecycle()
    if not state.expire_if_due(now):
        return False
    keep(row, state)
    return True


def live_invitation(uow: UnitOfWork, tenant_id: str, user_id: str) -> Invitation | None:
    """The user's live invitation, locked; one that has run past its expiry is marked
    expired first (and is not returned)."""
    invitation = next(iter(uow.invitations.live_of_user(tenant_id, user_id)), None)
    if invitation is not None and expire_if_due(invitation, utcnow()):
        uow.invitations.save(invitation)
        return None
    return invitation


# Tenant settings and template -----------------------------------------------------


def settings_of(uow: UnitOfWork, tenant_id: str, defaults: Settings) -> TenantInvitationSettings:
    """The tenant's settings, the deployment's defaults where the tenant set none."""
    return _settings_from(uow.invitations.settings(tenant_id), defaults)


def _settings_from(row: InvitationSettings | None, defaults: Settings) -> TenantInvitationSettings:
    return TenantInvitationSettings(
        ttl_hours=(row.ttl_hours if row and row.ttl_hours else defaults.invitation_ttl_hours),
        invite_scim_users=bool(row and row.invite_scim_users),
        rate_limit_per_minute=(
            row.rate_limit_per_minute
            if row and row.rate_limit_per_minute
            else defaults.invitation_rate_per_minute
        ),
    )


def template_of(uow: UnitOfWork, tenant_id: str) -> templates.InvitationTemplate:
    return _template_from(uow.invitations.settings(tenant_id))


def _template_from(row: InvitationSettings | None) -> templates.InvitationTemplate:
    default = templates.InvitationTemplate()
    if row is None:
        return default
    return templates.InvitationTemplate(
        subject=row.template_subject or default.subject,
        text=row.template_text or default.text,
        html=row.template_html or default.html,
    )


def _settings_row(uow: UnitOfWork, tenant_id: str) -> InvitationSettings:
    """The tenant's settings row, a new one (added) if it has none."""
    row = uow.invitations.settings(tenant_id)
    if row is None:
        row = InvitationSettings(tenant_id=tenant_id, invite_scim_users=False)
        uow.invitations.add_settings(row)
    return row


def tenant_settings(
    uow: UnitOfWork, tenant_id: str, defaults: Settings
) -> TenantInvitationSettings:
    with uow:
        return settings_of(uow, tenant_id, defaults)


def update_tenant_settings(
    uow: UnitOfWork,
    tenant_id: str,
    changes: dict[str, Any],
    actor: str,
    defaults: Settings,
) -> TenantInvitationSettings:
    with uow:
        before = settings_of(uow, tenant_id, defaults)
        row = _settings_row(uow, tenant_id)
        for name in ("ttl_hours", "invite_scim_users", "rate_limit_per_minute"):
            if name in changes:
                setattr(row, name, changes[name])
        row.updated_at = utcnow()
        after = _settings_from(row, defaults)
        uow.audit.record(
            tenant_id,
            actor,
            "invitation.settings.update",
            "invitation_settings",
            tenant_id,
            before=before.__dict__,
            after=after.__dict__,
        )
        return after


def get_template(uow: UnitOfWork, tenant_id: str) -> templates.InvitationTemplate:
    with uow:
        return template_of(uow, tenant_id)


def put_template(
    uow: UnitOfWork, tenant_id: str, template: templates.InvitationTemplate, actor: str
) -> templates.InvitationTemplate:
    """Store the tenant's template; one naming an unknown field is refused now, not at send."""
    try:
        templates.validate(template)
    except templates.TemplateProblem as problem:
        raise ValidationFailed("invalid_template", problem.message, field=problem.part) from None
    lifecycle.require_link(template.parts())
    with uow:
        before = template_of(uow, tenant_id)
        row = _settings_row(uow, tenant_id)
        row.template_subject = template.subject
        row.template_text = template.text
        row.template_html = template.html
        row.updated_at = utcnow()
        uow.audit.record(
            tenant_id,
            actor,
            "invitation.template.update",
            "invitation_settings",
            tenant_id,
            before=before.parts(),
            after=template.parts(),
        )
        return template


# Reading --------------------------------------------------------------------------


def shown_status(invitation: Invitation) -> str:
    """The status as a person sees it: a sent invitation past its expiry is expired."""
    return invitation.lifecycle().shown_status(utcnow()).value


SHOWN_FIELDS = (
    "id",
    "user_id",
    "email",
    "display_name",
    "failure_reason",
    "send_round",
    "attempts",
    "inviter",
    "expires_at",
    "sent_at",
    "accepted_at",
    "revoked_at",
    "job_id",
    "created_at",
    "scope_id",
    "assign_account",
    "grant_outcome",
    "grant_reason",
)


def shown(invitation: Invitation) -> dict[str, Any]:
    """An invitation as an admin sees it (its status as shown)."""
    return {
        **{name: getattr(invitation, name) for name in SHOWN_FIELDS},
        "role": invitation.role_key,
        "status": shown_status(invitation),
    }


def _deliveries(session: Session, invitation: Invitation) -> list[InvitationDelivery]:
    return list(
        session.scalars(
            select(InvitationDelivery)
            .where(InvitationDelivery.invitation_id == invitation.id)
            .order_by(InvitationDelivery.id)
        )
    )


def _find(session: Session, tenant_id: str, invitation_id: str) -> Invitation:
    invitation = (
        session.scalar(
            select(Invitation).where(
                Invitation.tenant_id == tenant_id, Invitation.id == invitation_id
            )
        )
        if is_row_id(invitation_id)
        else None
    )
    if invitation is None:
        raise NotFound("not_found", f"No invitation {invitation_id!r}", field="id")
    return invitation


def invitation_detail(uow: UnitOfWork, tenant_id: str, invitation_id: str) -> dict[str, Any]:
    """The invitation as shown, with the history of its deliveries."""
    with uow.reading() as session:
        invitation = _find(session, tenant_id, invitation_id)
        return {**shown(invitation), "deliveries": _deliveries(session, invitation)}


def get_invitation(uow: UnitOfWork, tenant_id: str, invitation_id: str) -> Invitation:
    with uow.reading() as session:
        return _find(session, tenant_id, invitation_id)


def list_invitations(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    status: str | None = None,
    email: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the tenant's invitations, newest first, as shown; and the total."""
    query = select(Invitation).where(Invitation.tenant_id == tenant_id)
    now = utcnow()
    sent, expired = InvitationStatus.SENT.value, InvitationStatus.EXPIRED.value
    # As `shown_status` sees them: a sent invitation past its expiry is expired.
    if status == expired:
        query = query.where(
            or_(
                Invitation.status == expired,
                (Invitation.status == sent) & (Invitation.expires_at <= now),
            )
        )
    elif status == sent:
        query = query.where(Invitation.status == sent, Invitation.expires_at > now)
    elif status is not None:
        query = query.where(Invitation.status == InvitationStatus(status).value)
    if email:
        query = query.where(Invitation.email_lower == email.strip().lower())
    with uow.reading() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(
            query.order_by(Invitation.created_at.desc(), Invitation.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        return [shown(row) for row in rows], total


# Creating -------------------------------------------------------------------------


def email_of(user: ScimUser) -> str | None:
    """The user's primary email, else the first one, else a userName that is an address;
    None when that is not an address mail can reach (SCIM's userName is any string)."""
    emails = [e for e in (user.document or {}).get("emails") or [] if isinstance(e, dict)]
    chosen = next((e for e in emails if e.get("primary") and e.get("value")), None) or next(
        (e for e in emails if e.get("value")), None
    )
    address = str(chosen["value"]) if chosen else user.user_name
    return address if "@" in address and address_problem(address) is None else None


def new_invitation(
    uow: UnitOfWork,
    tenant_id: str,
    user: ScimUser,
    *,
    actor: str,
    inviter_name: str,
    ttl_hours: int,
    job_id: str | None = None,
    send: bool = True,
    grant: InvitedGrant | None = None,
) -> Invitation:
    """Add a pending invitation for a user who has no live one (the caller checked),
    in the caller's unit of work; with `send`, its delivery is recorded in the outbox.
    `grant` is where it invites to, checked by the caller (invitation_grants)."""
    email = email_of(user)
    if email is None:
        raise ValidationFailed(
            "no_email", f"User {user.user_name!r} has no email address to invite", field="user_id"
        )
    now = utcnow()
    state = lifecycle.Invitation.new(new_id(), now, timedelta(hours=ttl_hours))
    invitation = Invitation(
        id=state.id,
        tenant_id=tenant_id,
        user_id=user.id,
        email=email,
        email_lower=email.lower(),
        display_name=user.display_name or "",
        inviter=actor,
        inviter_name=inviter_name[:200],
        job_id=job_id,
        created_at=now,
    )
    invitation.set_grant(grant)
    invitation.keep(state)
    uow.invitations.add(invitation)
    metrics.invitations.labels(state.status.value).inc()
    uow.audit.record(
        tenant_id,
        actor,
        "invitation.create",
        "invitation",
        invitation.id,
        after=describe(invitation),
    )
    if send:
        uow.emit(tenant_id, SEND_TASK, invitation.id)
    return invitation


def _find_user(uow: UnitOfWork, tenant_id: str, user_id: str) -> ScimUser:
    user = uow.users.get(tenant_id, user_id) if is_row_id(user_id) else None
    if user is None:
        raise NotFound("unknown_user", f"No user {user_id!r}", field="user_id")
    return user


def create_user_for_email(
    uow: UnitOfWork, tenant_id: str, email: str, name: str, actor: str
) -> ScimUser:
    """A new user whose userName is the address: through the SCIM use case, so the
    user is stored, indexed and audited exactly as one an IdP pushes."""
    from scim2_models import Email, Name, User

    display = name.strip() or email
    given = display.split()[0] if name.strip() else None
    if given is not None and len(given) > GIVEN_NAME_LENGTH:
        given = None  # a guess at the given name, not input: leave it out when it cannot fit
    resource = User(
        user_name=email,
        display_name=display,
        emails=[Email(value=email, primary=True)],
        name=Name(formatted=display, given_name=given),
    )
    return scim_users.create_user(uow, tenant_id, actor, resource)


def create_invitation(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    actor: str,
    defaults: Settings,
    user_id: str | None = None,
    email: str | None = None,
    name: str = "",
    inviter_name: str | None = None,
    scope_id: str | None = None,
    role: str | None = None,
    product: str | None = None,
) -> Invitation:
    """Invite an existing user (by id) or an address (making the user if it is new),
    to `role` (of `product`, when named) at `scope_id` when it names them (a scope
    alone: the product's default role).

    A user with a live invitation already gets 409 naming it, never a second one."""
    with uow:
        grant = invitation_grants.checked(uow, tenant_id, scope_id, role, product)
        if user_id:
            user = _find_user(uow, tenant_id, user_id)
        elif email:
            problem = address_problem(email)
            if problem is not None:
                raise ValidationFailed("invalid_email", problem, field="email")
            user = uow.invitations.user_by_email(tenant_id, email) or create_user_for_email(
                uow, tenant_id, email, name, actor
            )
        else:
            raise ValidationFailed("missing_user", "Give user_id or email", field="email")
        existing = live_invitation(uow, tenant_id, user.id)
        if existing is not None:
            raise Conflict(
                "already_invited",
                f"User {user.user_name!r} has a live invitation already ({existing.id}, "
                f"{existing.status}); resend or revoke it",
                field="user_id",
            )
        return new_invitation(
            uow,
            tenant_id,
            user,
            actor=actor,
            inviter_name=inviter_name or DEFAULT_INVITER,
            ttl_hours=settings_of(uow, tenant_id, defaults).ttl_hours,
            grant=grant,
        )


def invite_on_provision(
    uow: UnitOfWork, tenant_id: str, user_ids: list[str], actor: str, defaults: Settings
) -> list[Invitation]:
    """Run by the worker after SCIM creates users (worker.permission_tasks.users_created):
    when the tenant enabled invitations for provisioned users, invite each of them who
    is active, has an email and holds no live invitation. Safe to run twice: a second
    run finds the live invitation and invites nobody."""
    if not user_ids:
        return []
    with uow:
        config = settings_of(uow, tenant_id, defaults)
        if not config.invite_scim_users:
            return []
        made = []
        for user in uow.invitations.users(tenant_id, user_ids):
            if not user.active or email_of(user) is None:
                continue
            if live_invitation(uow, tenant_id, user.id) is not None:
                continue
            made.append(
                new_invitation(
                    uow,
                    tenant_id,
                    user,
                    actor=actor,
                    inviter_name=PROVISIONING_INVITER,
                    ttl_hours=config.ttl_hours,
                )
            )
        return made


def revoke(uow: UnitOfWork, tenant_id: str, invitation_id: str, actor: str) -> Invitation:
    """Withdraw an invitation: its link stops working (409 when accepted or revoked)."""
    with uow:
        invitation = locked(uow, tenant_id, invitation_id)
        revoke_row(uow, invitation, actor)
        return invitation


def resend(
    uow: UnitOfWork, tenant_id: str, invitation_id: str, actor: str, defaults: Settings
) -> Invitation:
    """Send again with a new link (the old one stops working) and a fresh expiry."""
    with uow:
        invitation = locked(uow, tenant_id, invitation_id)
        state = invitation.lifecycle()
        if invitation.user_id and state.status in (
            InvitationStatus.EXPIRED,
            InvitationStatus.FAILED,
        ):
            other = live_invitation(uow, tenant_id, invitation.user_id)
            if other is not None and other.id != invitation.id:
                raise Conflict(
                    "already_invited", f"The user has a newer live invitation ({other.id})"
                )
        before = describe(invitation)
        state.resend(utcnow(), timedelta(hours=settings_of(uow, tenant_id, defaults).ttl_hours))
        keep(invitation, state)
        uow.invitations.save(invitation)
        uow.audit.record(
            tenant_id,
            actor,
            "invitation.resend",
            "invitation",
            invitation.id,
            before=before,
            after=describe(invitation),
        )
        uow.emit(tenant_id, SEND_TASK, invitation.id)
        return invitation


# The person's side ----------------------------------------------------------------


@dataclass(frozen=True)
class TokenView:
    invitation: Invitation
    tenant_name: str
    state: str  # "open", or why it is not: accepted, expired, revoked, failed
    where: str = ""  # where it invites to, as the email says it ("" for nowhere)


def _by_token(uow: UnitOfWork, token: str, lock: bool) -> Invitation:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise NotFound("unknown_invitation", "This invitation link is not valid")
    invitation = uow.invitations.by_token_hash(hash_token(token), lock=lock)
    if invitation is None:
        raise NotFound("unknown_invitation", "This invitation link is not valid")
    return invitation


def view_token(uow: UnitOfWork, token: str) -> TokenView:
    """What the link's page shows: the invitation, its tenant, and whether it is open."""
    with uow:
        invitation = _by_token(uow, token, lock=False)
        why = invitation.lifecycle().gone_because(utcnow())
        grant = invitation.grant()
        names = invitation_grants.names_of(uow, invitation.tenant_id, [grant] if grant else [])
        return TokenView(
            invitation,
            uow.invitations.tenant_name(invitation.tenant_id),
            why.value if why is not None else "open",
            names[grant].where if grant else "",
        )


def accept(uow: UnitOfWork, token: str) -> Invitation:
    """Mark the invitation accepted, once; later uses get InvitationGone (410). A link
    found past its expiry is marked expired (that is kept) and refused. Where the
    invitation invites to is granted in the same transaction (invitation_grants).

    Of concurrent accepts exactly one succeeds, on every database: the row lock makes
    PostgreSQL's run one after the other, and the write is a conditional UPDATE that
    only a request finding the invitation still acceptable can make (SQLite has no row
    lock, so there the UPDATE decides). A request that loses answers as a later use."""
    gone: InvitationGone | None = None
    with uow:
        invitation = _by_token(uow, token, lock=True)
        state = invitation.lifecycle()
        now = utcnow()
        before = describe(invitation)
        try:
            state.accept(now)
        except InvitationGone as error:
            gone = error
            if state.expire_if_due(now):
                keep(invitation, state)
        else:
            if not uow.invitations.write_if_still(invitation, state, lifecycle.ACCEPTABLE):
                uow.invitations.reload(invitation)
                why = invitation.lifecycle().gone_because(now)
                if why is None:  # changed, yet acceptable: not by an accept; try again
                    raise IllegalTransition(
                        "changed_meanwhile", "The invitation changed meanwhile; try again"
                    )
                raise InvitationGone(why)
            metrics.invitations.labels(state.status.value).inc()
            actor = f"invitee:{invitation.user_id}"
            invitation_grants.grant_on_accept(uow, invitation, actor)
            uow.audit.record(
                invitation.tenant_id,
                actor,
                "invitation.accept",
                "invitation",
                invitation.id,
                before=before,
                after=describe(invitation),
            )
    if gone is not None:
        raise gone
    return invitation
