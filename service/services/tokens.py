"""Tenants and their API tokens.

A token is `rc_<kind>_<43 url-safe chars>` (256 random bits). Only its SHA-256 is
stored; the plaintext is returned once, at creation. Rotation issues a new token
and lets the old one keep working until the overlap ends.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.cache.cached_token import CachedToken
from service.domain.errors import Conflict, NotFound, Unavailable, ValidationFailed
from service.persistence.base import utcnow
from service.persistence.models import ApiToken, Tenant
from service.persistence.unit_of_work import UnitOfWork
from service.runtime import Runtime
from service.services import propagation
from service.services.audit import record
from service.services.listing import paginate

log = logging.getLogger("rolecall.tokens")


class TokenKind(StrEnum):
    SCIM = "scim"
    ADMIN = "admin"
    READ = "read"
    # An End-User Portal's server: it may register people who sign themselves up
    # (service.services.self_registration) and nothing else, so a portal holds no
    # admin token and a leaked portal token cannot change roles, mappings or tokens.
    PORTAL = "portal"


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str


@dataclass(frozen=True)
class Caller:
    """Who is calling: the tenant and token that authenticated the request."""

    tenant_id: str
    token_id: str
    kind: TokenKind

    @property
    def actor(self) -> str:
        return f"token:{self.token_id}"


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_tenant(uow: UnitOfWork, name: str) -> Tenant:
    name = name.strip()
    if not name:
        raise ValidationFailed("invalid_name", "A tenant needs a name", field="name")
    with uow:
        session = uow.session
        if session.scalar(select(Tenant.id).where(func.lower(Tenant.name) == name.lower())):
            raise Conflict("duplicate", f"A tenant named {name!r} exists already", field="name")
        tenant = Tenant(name=name, settings={})
        session.add(tenant)
        session.flush()
        return tenant


def find_tenant(uow: UnitOfWork, name_or_id: str) -> Tenant:
    with uow.reading() as session:
        tenant = session.scalar(
            select(Tenant).where(
                (Tenant.id == name_or_id) | (func.lower(Tenant.name) == name_or_id.lower())
            )
        )
    if tenant is None:
        raise NotFound("tenant_not_found", f"No tenant {name_or_id!r}", field="tenant")
    return tenant


def list_tenants(uow: UnitOfWork) -> list[Tenant]:
    with uow.reading() as session:
        return list(session.scalars(select(Tenant).order_by(Tenant.name)))


def _kind(value: str) -> TokenKind:
    try:
        return TokenKind(value)
    except ValueError:
        kinds = ", ".join(k.value for k in TokenKind)
        raise ValidationFailed(
            "invalid_kind", f"kind must be one of {kinds}", field="kind"
        ) from None


def issue_token(
    uow: UnitOfWork, tenant_id: str, kind: str, description: str = "", actor: str = "cli"
) -> IssuedToken:
    with uow:
        return _issue(uow.session, tenant_id, kind, description, actor)


def _issue(
    session: Session, tenant_id: str, kind: str, description: str, actor: str
) -> IssuedToken:
    token_kind = _kind(kind)
    plaintext = f"rc_{token_kind.value}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        tenant_id=tenant_id,
        kind=token_kind.value,
        token_hash=hash_token(plaintext),
        prefix=plaintext[:12],
        description=description,
    )
    session.add(token)
    session.flush()
    record(session, tenant_id, actor, "token.create", "token", token.id, after=describe(token))
    return IssuedToken(token, plaintext)


def _token_of_tenant(session: Session, token_id: str, tenant_id: str | None) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (tenant_id is not None and token.tenant_id != tenant_id):
        raise NotFound("token_not_found", f"No token {token_id!r}", field="id")
    return token


def revoke(
    uow: UnitOfWork, token_id: str, tenant_id: str | None = None, actor: str = "cli"
) -> ApiToken:
    """Revoke a token. Every process forgets it after the commit (the FORGET_TOKEN
    effect: at once when it can be, by the relay otherwise)."""
    with uow:
        session = uow.session
        token = _token_of_tenant(session, token_id, tenant_id)
        if token.revoked_at is None:
            before = describe(token)
            token.revoked_at = utcnow()
            record(
                session,
                token.tenant_id,
                actor,
                "token.revoke",
                "token",
                token.id,
                before=before,
                after=describe(token),
            )
        # Applied again if the token was revoked already: a retry re-broadcasts it.
        uow.effect(token.tenant_id, propagation.FORGET_TOKEN, token.id)
        return token


def rotate(
    uow: UnitOfWork,
    token_id: str,
    overlap: timedelta,
    tenant_id: str | None = None,
    actor: str = "cli",
) -> IssuedToken:
    """A new token of the same kind; the old one keeps working until `overlap` ends."""
    with uow:
        session = uow.session
        old = _token_of_tenant(session, token_id, tenant_id)
        if old.revoked_at is not None:
            raise Conflict("token_revoked", "A revoked token cannot be rotated", field="id")
        if overlap < timedelta(0):
            raise ValidationFailed(
                "invalid_overlap", "overlap must not be negative", field="overlap"
            )
        issued = _issue(session, old.tenant_id, old.kind, old.description, actor)
        before = describe(old)
        ends = utcnow() + overlap
        old.expires_at = ends if old.expires_at is None else min(old.expires_at, ends)
        old.rotated_to_id = issued.token.id
        record(
            session,
            old.tenant_id,
            actor,
            "token.rotate",
            "token",
            old.id,
            before=before,
            after=describe(old),
        )
        # Its expiry changed: no process may keep the old one cached past it.
        uow.effect(old.tenant_id, propagation.FORGET_TOKEN, old.id)
        return issued


def list_tokens(uow: UnitOfWork, tenant_id: str) -> list[ApiToken]:
    with uow.reading() as session:
        return list(
            session.scalars(
                select(ApiToken)
                .where(ApiToken.tenant_id == tenant_id)
                .order_by(ApiToken.created_at)
            )
        )


def page_of_tokens(
    uow: UnitOfWork, tenant_id: str, *, page: int, per_page: int, revoked: bool = False
) -> tuple[list[ApiToken], int]:
    """One page of the tenant's live tokens (not revoked; expired ones included, they
    show their expiry), or with `revoked` of its revoked ones, oldest first."""
    state = ApiToken.revoked_at.is_not(None) if revoked else ApiToken.revoked_at.is_(None)
    with uow.reading() as session:
        query = (
            select(ApiToken)
            .where(ApiToken.tenant_id == tenant_id, state)
            .order_by(ApiToken.created_at, ApiToken.id)
        )
        return paginate(session, query, page, per_page)


def authenticate(session: Session, plaintext: str) -> Caller | None:
    """The caller a presented token stands for, or None if it is unknown, revoked or expired."""
    digest = hash_token(plaintext)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup is by hash; the constant-time compare guards against any
    # collation or index surprise making a near-miss match.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    return Caller(tenant_id=token.tenant_id, token_id=token.id, kind=TokenKind(token.kind))


def describe(token: ApiToken) -> dict[str, object]:
    """A token as it may be shown and logged: never the hash or the plaintext."""
    return {
        "id": token.id,
        "kind": token.kind,
        "prefix": token.prefix,
        "description": token.description,
        "created_at": token.created_at.isoformat() if token.created_at else None,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        "rotated_to_id": token.rotated_to_id,
    }


# -- with the cache: what the HTTP layer and the CLI call -----------------------------


def caller_of(token: CachedToken) -> Caller | None:
    """The caller a cached token record stands for; None once it has expired."""
    if token.expires_at and token.expires_at <= utcnow().timestamp():
        return None
    return Caller(tenant_id=token.tenant_id, token_id=token.token_id, kind=TokenKind(token.kind))


def authenticate_cached(runtime: Runtime, plaintext: str) -> Caller | None:
    """`authenticate`, answered from Redis when it can be.

    A token found in the database is remembered for a few minutes; revoking or
    rotating it forgets it at once (`revoke`, `rotate`). When Redis is down the
    database answers alone."""
    digest = hash_token(plaintext)
    try:
        cached = runtime.cache.cached_token(digest)
    except Exception:  # Redis down: fall through to the database
        cached = None
    if cached is not None:
        return caller_of(cached)
    try:
        with runtime.unit_of_work().reading() as session:
            caller = authenticate(session, plaintext)
            token = session.get(ApiToken, caller.token_id) if caller else None
    except Exception as error:  # neither Redis nor the database can vouch for the token
        log.error("token check failed on the database: %s", type(error).__name__)
        raise Unavailable("authentication is unavailable; retry shortly") from error
    if caller is not None and token is not None:
        entry = CachedToken(
            caller.tenant_id,
            caller.kind.value,
            caller.token_id,
            token.expires_at.timestamp() if token.expires_at else 0.0,
        )
        try:
            runtime.cache.remember_token(digest, entry)
        except Exception:
            log.warning("token cache unavailable; authenticated from the database")
    return caller


def forget(runtime: Runtime, token_id: str) -> None:
    """Drop a revoked or rotated token from every process's memory (the effect
    propagation.FORGET_TOKEN, applied after the change commits)."""
    with runtime.unit_of_work().reading() as session:
        token_hash = session.scalar(select(ApiToken.token_hash).where(ApiToken.id == token_id))
    if token_hash is not None:
        runtime.cache.forget_token(token_hash)
