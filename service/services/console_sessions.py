"""Admin console sessions: an admin token exchanged for a session, and one-time links.

The browser never holds the admin token after sign-in: it holds a random session id
(an HttpOnly cookie), stored here only as its SHA-256. A session stands for the admin
token it was opened with and ends when that token is revoked or expires, when it is
signed out, after `console_session_hours`, or after `console_idle_minutes` unused.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from service.domain.errors import NotFound, ValidationFailed
from service.persistence.base import utcnow
from service.persistence.console_models import ConsoleSession, ConsoleSignInLink
from service.persistence.models import ApiToken, Tenant
from service.persistence.unit_of_work import UnitOfWork
from service.services.audit import record
from service.services.tokens import Caller, TokenKind, authenticate, hash_token, issue_token
from service.settings import Settings

# A session's last use is written at most this often, so reading pages does not
# write a row per request.
TOUCH_EVERY = timedelta(minutes=1)
# The admin token one-time links stand for (one per tenant, made at the first link).
CONSOLE_TOKEN_DESCRIPTION = "console sign-in"


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions and links live (from Settings)."""

    lifetime: timedelta
    idle: timedelta
    link_lifetime: timedelta

    @classmethod
    def of(cls, settings: Settings) -> SessionPolicy:
        return cls(
            lifetime=timedelta(hours=settings.console_session_hours),
            idle=timedelta(minutes=settings.console_idle_minutes),
            link_lifetime=timedelta(minutes=settings.console_link_minutes),
        )


@dataclass(frozen=True)
class OpenedSession:
    """A new session: `secret` goes into the cookie and nowhere else."""

    session_id: str
    secret: str
    csrf_token: str


@dataclass(frozen=True)
class ConsoleCaller:
    """Who is using the console: the tenant, the admin token the session stands for
    (the actor of every change made through it), and the session's CSRF token."""

    caller: Caller
    tenant_name: str
    session_id: str
    csrf_token: str

    @property
    def tenant_id(self) -> str:
        return self.caller.tenant_id


class SignInRefused(ValidationFailed):
    """The token or link cannot open a session; one message for every reason, so a
    guesser learns nothing about which tokens exist."""

    def __init__(self, field: str) -> None:
        super().__init__(
            "sign_in_refused",
            "That is not a live admin token of any tenant"
            if field == "token"
            else "This sign-in link is not valid: it was used already, has expired, "
            "or its token was revoked",
            field=field,
        )


def sign_in(uow: UnitOfWork, plaintext_token: str, policy: SessionPolicy) -> OpenedSession:
    """A session for a live admin token; SignInRefused for anything else."""
    with uow:
        session = uow.session
        caller = authenticate(session, plaintext_token.strip())
        if caller is None or caller.kind is not TokenKind.ADMIN:
            raise SignInRefused("token")
        return _open(uow, caller, policy, how="token")


def issue_sign_in_link(
    uow: UnitOfWork, tenant_id: str, policy: SessionPolicy, *, actor: str = "cli"
) -> str:
    """A one-time code for `/console/sign-in/<code>`, standing for the tenant's admin
    token made for the console (made here, described "console sign-in", on first use,
    so the link can be revoked like any token and no other token is shown)."""
    with uow:
        session = uow.session
        token_id = session.scalar(
            select(ApiToken.id)
            .where(
                ApiToken.tenant_id == tenant_id,
                ApiToken.kind == TokenKind.ADMIN.value,
                ApiToken.description == CONSOLE_TOKEN_DESCRIPTION,
                ApiToken.revoked_at.is_(None),
                (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > utcnow()),
            )
            .order_by(ApiToken.created_at.desc())
            .limit(1)
        )
        if token_id is None:
            token_id = issue_token(
                uow, tenant_id, TokenKind.ADMIN.value, CONSOLE_TOKEN_DESCRIPTION, actor
            ).token.id
        code = secrets.token_urlsafe(32)
        session.add(
            ConsoleSignInLink(
                tenant_id=tenant_id,
                token_id=token_id,
                code_hash=hash_token(code),
                expires_at=utcnow() + policy.link_lifetime,
            )
        )
        record(session, tenant_id, actor, "console.link.issue", "token", token_id)
        return code


def sign_in_with_link(uow: UnitOfWork, code: str, policy: SessionPolicy) -> OpenedSession:
    """A session for a one-time link's token; the link is spent whether or not it is
    still good, and a spent, expired or unknown link is SignInRefused."""
    with uow:
        session = uow.session
        now = utcnow()
        spent = session.execute(
            update(ConsoleSignInLink)
            .where(
                ConsoleSignInLink.code_hash == hash_token(code),
                ConsoleSignInLink.used_at.is_(None),
            )
            .values(used_at=now)
            .returning(ConsoleSignInLink.token_id, ConsoleSignInLink.expires_at)
        ).first()
        if spent is None or spent.expires_at <= now:
            raise SignInRefused("link")
        token = session.get(ApiToken, spent.token_id)
        if token is None or not _live(token) or token.kind != TokenKind.ADMIN.value:
            raise SignInRefused("link")
        caller = Caller(tenant_id=token.tenant_id, token_id=token.id, kind=TokenKind.ADMIN)
        return _open(uow, caller, policy, how="link")


def _live(token: ApiToken) -> bool:
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > utcnow())


def _open(uow: UnitOfWork, caller: Caller, policy: SessionPolicy, how: str) -> OpenedSession:
    secret = secrets.token_urlsafe(32)
    row = ConsoleSession(
        tenant_id=caller.tenant_id,
        token_id=caller.token_id,
        secret_hash=hash_token(secret),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + policy.lifetime,
    )
    uow.session.add(row)
    uow.session.flush()
    record(
        uow.session,
        caller.tenant_id,
        caller.actor,
        "console.sign_in",
        "console_session",
        row.id,
        after={"with": how},
    )
    return OpenedSession(row.id, secret, row.csrf_token)


def current(uow: UnitOfWork, secret: str, policy: SessionPolicy) -> ConsoleCaller | None:
    """The caller a session cookie stands for, or None when it is unknown, signed out,
    past its lifetime or idle limit, or its admin token is revoked or expired."""
    if not secret:
        return None
    now = utcnow()
    with uow.reading() as session:
        found = session.execute(
            select(ConsoleSession, ApiToken, Tenant.name)
            .join(ApiToken, ApiToken.id == ConsoleSession.token_id)
            .join(Tenant, Tenant.id == ConsoleSession.tenant_id)
            .where(ConsoleSession.secret_hash == hash_token(secret))
        ).first()
    if found is None:
        return None
    row, token, tenant_name = found
    if not hmac.compare_digest(row.secret_hash, hash_token(secret)):
        return None
    if (
        row.ended_at is not None
        or row.expires_at <= now
        or row.last_seen_at + policy.idle <= now
        or not _live(token)
        or token.tenant_id != row.tenant_id
    ):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with uow:
            uow.session.execute(
                update(ConsoleSession).where(ConsoleSession.id == row.id).values(last_seen_at=now)
            )
    caller = Caller(tenant_id=row.tenant_id, token_id=row.token_id, kind=TokenKind.ADMIN)
    return ConsoleCaller(
        caller=caller, tenant_name=tenant_name, session_id=row.id, csrf_token=row.csrf_token
    )


def csrf_matches(console: ConsoleCaller, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(console.csrf_token, presented or "")


def sign_out(uow: UnitOfWork, console: ConsoleCaller) -> None:
    with uow:
        row = uow.session.get(ConsoleSession, console.session_id)
        if row is None or row.tenant_id != console.tenant_id:
            raise NotFound("not_found", "No such session")
        if row.ended_at is None:
            row.ended_at = utcnow()
            record(
                uow.session,
                row.tenant_id,
                console.caller.actor,
                "console.sign_out",
                "console_session",
                row.id,
            )


def prune(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Delete sessions that are over (signed out or past their lifetime) and links that
    are spent or expired, for every tenant; returns how many rows went. The audit log
    keeps who signed in and out."""
    now = now or utcnow()
    with uow:
        sessions = uow.session.execute(
            delete(ConsoleSession).where(
                or_(ConsoleSession.ended_at.is_not(None), ConsoleSession.expires_at <= now)
            )
        )
        links = uow.session.execute(
            delete(ConsoleSignInLink).where(
                or_(ConsoleSignInLink.used_at.is_not(None), ConsoleSignInLink.expires_at <= now)
            )
        )
        return (sessions.rowcount or 0) + (links.rowcount or 0)
