"""Use cases on SCIM users: create, replace, delete.

Each takes the session of the request's unit of work and writes everything a
change implies (the row, its indexed copies, membership clean-up, the audit
event) in that one transaction. Resources arrive already validated by
scim2-models; the document stored is the resource as SCIM JSON without the
attributes that live elsewhere (id, meta, password, groups).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from types import SimpleNamespace
from typing import Any

from scim2_models import (
    NotFoundException,
    PreconditionFailedException,
    Resource,
    UniquenessException,
)
from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, make_transient_to_detached

from service.persistence import outbox
from service.persistence.base import new_id, utcnow
from service.persistence.driver import DriverStatement
from service.persistence.models import AuditEvent
from service.persistence.outbox import OutboxRecord
from service.persistence.scim_models import ScimGroupMember, ScimUser
from service.services import invitations, propagation
from service.services.audit import event_values, record

# Attributes kept outside the stored document.
_NOT_STORED = ("id", "meta", "password", "groups")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    encoded = base64.b64encode(salt + digest).decode("ascii")
    return f"scrypt$16384$8$1${encoded}"


def verify_password(password: str, stored: str) -> bool:
    _, n, r, p, encoded = stored.split("$")
    raw = base64.b64decode(encoded)
    salt, digest = raw[:16], raw[16:]
    candidate = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, dklen=len(digest), n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(candidate, digest)


def document_of(resource: Resource[Any]) -> dict[str, Any]:
    dumped = resource.model_dump()
    for key in _NOT_STORED:
        dumped.pop(key, None)
    return dumped


def summary(user: ScimUser | SimpleNamespace) -> dict[str, Any]:
    """What the audit log keeps of a user: identifiers and state, not the profile."""
    return {
        "userName": user.user_name,
        "externalId": user.external_id,
        "active": user.active,
        "userType": user.user_type,
    }


def _column_values(resource: Any, document: dict[str, Any]) -> dict[str, Any]:
    """The columns a user's resource decides (the indexed copies of its attributes)."""
    return {
        "user_name": resource.user_name,
        "user_name_lower": resource.user_name.lower(),
        "external_id": resource.external_id,
        "display_name": resource.display_name,
        "active": True if resource.active is None else bool(resource.active),
        "user_type": resource.user_type,
        "given_name": resource.name.given_name if resource.name else None,
        "family_name": resource.name.family_name if resource.name else None,
        "document": document,
    }


def _apply_columns(row: ScimUser, resource: Any, document: dict[str, Any]) -> None:
    for key, value in _column_values(resource, document).items():
        setattr(row, key, value)


def _check_unique(executor: Executor, tenant_id: str, resource: Any, own_id: str | None) -> None:
    """userName (compared lower-cased) and externalId are unique per tenant; one query."""
    user_name = resource.user_name.lower()
    condition = ScimUser.user_name_lower == user_name
    if resource.external_id is not None:
        condition = or_(condition, ScimUser.external_id == resource.external_id)
    query = select(ScimUser.user_name_lower, ScimUser.external_id).where(
        ScimUser.tenant_id == tenant_id, condition
    )
    if own_id is not None:
        query = query.where(ScimUser.id != own_id)
    for taken_name, taken_external_id in executor.execute(query.limit(2)):
        if taken_name == user_name:
            raise UniquenessException(
                detail=f"userName {resource.user_name!r} is already taken", attribute="userName"
            )
        if resource.external_id is not None and taken_external_id == resource.external_id:
            raise UniquenessException(
                detail=f"externalId {resource.external_id!r} is already taken",
                attribute="externalId",
            )


_COLUMNS = tuple(attribute.key for attribute in ScimUser.__mapper__.column_attrs)
# SQLite's create: the user alone, refused by the unique indexes without an error.
_SQLITE_INSERT = sqlite.insert(ScimUser).on_conflict_do_nothing().returning(ScimUser.id)
_AUDIT_COLUMNS = tuple(column.key for column in AuditEvent.__table__.columns)
_OUTBOX_COLUMNS = tuple(outbox.row_values("", "", ""))

Executor = Session | Connection


def _bound(table: Any, columns: tuple[str, ...], prefix: str) -> list[Any]:
    return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns]


@functools.cache
def _create_in_one_statement() -> Any:
    """PostgreSQL: the user, its audit event and its outbox row in one statement, so a
    create is one round trip and, outside a transaction, needs no BEGIN or COMMIT.

    Written as data-modifying CTEs (no library composes this for us): the audit and
    outbox inserts select from the user insert's RETURNING, so when the unique
    indexes turned the user away (ON CONFLICT DO NOTHING) they insert nothing either.
    Returns (user id, outbox row id); no row at all when the user was a duplicate."""
    user = (
        postgresql.insert(ScimUser)
        .values(dict(zip(_COLUMNS, _bound(ScimUser.__table__, _COLUMNS, "user_"), strict=True)))
        .on_conflict_do_nothing()
        .returning(ScimUser.id)
        .cte("new_user")
    )
    audit = (
        insert(AuditEvent)
        .from_select(
            _AUDIT_COLUMNS,
            select(*_bound(AuditEvent.__table__, _AUDIT_COLUMNS, "audit_")).select_from(user),
        )
        .cte("new_audit_event")
    )
    work = (
        outbox.insert_statement("postgresql")
        .from_select(
            _OUTBOX_COLUMNS,
            select(*_bound(OutboxRecord.__table__, _OUTBOX_COLUMNS, "outbox_")).select_from(user),
        )
        .cte("new_outbox_row")
    )
    return select(user.c.id, work.c.id).select_from(user.outerjoin(work, true())).add_cte(audit)


@functools.cache
def _create_on_the_driver(dialect: Dialect) -> DriverStatement:
    # The write an IdP makes once per user, a hundred thousand times in a first sync:
    # run on psycopg's cursor, without SQLAlchemy's per-execution work (driver.py).
    return DriverStatement.compile(_create_in_one_statement(), dialect)


def insert_user(
    executor: Executor, tenant_id: str, actor: str, resource: Any
) -> tuple[SimpleNamespace, outbox.Emitted | None]:
    """Store a new user with its audit event and the outbox row of the work it implies
    (its first permission set, maybe an invitation). On a clash with the unique
    indexes on (tenant, lower(userName)) and (tenant, externalId), nothing is stored
    and the 409 names the taken attribute. `executor` is a Session in a unit of work
    or a Connection of its own. The user comes back as its stored columns, read as
    attributes (no ORM instance: a SCIM create renders them and is done)."""
    now = utcnow()
    user = {
        "id": new_id(),
        "tenant_id": tenant_id,
        **_column_values(resource, document_of(resource)),
        "password_hash": hash_password(resource.password) if resource.password else None,
        "created": now,
        "last_modified": now,
        "version": 1,
    }
    row = SimpleNamespace(**user)
    audit = event_values(
        tenant_id, actor, "scim.user.create", "scim_user", row.id, after=summary(row)
    )
    work = propagation.user_created_values(tenant_id, row.id, actor)
    dialect = executor.get_bind().dialect if isinstance(executor, Session) else executor.dialect
    if dialect.name == "postgresql":
        parameters = {f"user_{k}": v for k, v in user.items()}
        parameters.update({f"audit_{k}": v for k, v in audit.items()})
        parameters.update({f"outbox_{k}": v for k, v in work.items()})
        stored = _create_on_the_driver(dialect).first(executor, parameters)
        outbox_id = stored[1] if stored is not None else None
    else:
        stored = executor.execute(_SQLITE_INSERT, user).first()
        if stored is not None:
            executor.execute(insert(AuditEvent), audit)
            outbox_id = executor.execute(outbox.insert_statement(dialect.name), work).scalar()
    if stored is None:
        _check_unique(executor, tenant_id, resource, None)
        raise UniquenessException(detail="a unique attribute value is already taken")
    return row, outbox.emitted_row(outbox_id, work)


def get_user(session: Session, tenant_id: str, user_id: str) -> ScimUser:
    user = session.scalar(
        select(ScimUser).where(ScimUser.tenant_id == tenant_id, ScimUser.id == user_id)
    )
    if user is None:
        raise NotFoundException(detail=f"User {user_id!r} not found")
    return user


def create_user(session: Session, tenant_id: str, actor: str, resource: Any) -> ScimUser:
    """A new user inside a unit of work (bulk operations, invitations by email)."""
    stored, work = insert_user(session, tenant_id, actor, resource)
    outbox.remember(session, work)
    # The row is stored: the session tracks it as loaded, without inserting it again.
    user = ScimUser(**vars(stored))
    make_transient_to_detached(user)
    session.add(user)
    return user


def replace_user(
    session: Session,
    tenant_id: str,
    actor: str,
    resource: Any,
    expected_version: str | None = None,
) -> ScimUser:
    """Store the whole new state of a user; a state equal to the stored one changes nothing."""
    row = get_user(session, tenant_id, resource.id)
    if expected_version is not None and etag(row.version) != expected_version:
        raise PreconditionFailedException
    document = document_of(resource)
    password_changed = bool(resource.password) and not (
        row.password_hash and verify_password(resource.password, row.password_hash)
    )
    if document == row.document and not password_changed:
        return row
    _check_unique(session, tenant_id, resource, row.id)
    before = summary(row)
    _apply_columns(row, resource, document)
    if password_changed:
        row.password_hash = hash_password(resource.password)
    row.last_modified = utcnow()
    row.version += 1
    session.flush()
    deactivated = before["active"] and not row.active
    action = "scim.user.deactivate" if deactivated else "scim.user.update"
    record(
        session, tenant_id, actor, action, "scim_user", row.id, before=before, after=summary(row)
    )
    if deactivated:
        _deprovisioned(session, tenant_id, row.id, actor)
    else:
        propagation.user_changed(session, tenant_id, row.id)
    return row


def _deprovisioned(session: Session, tenant_id: str, user_id: str, actor: str) -> None:
    """`active: false` or DELETE: no permissions from the moment the request returns,
    and no invitation link that still works."""
    propagation.user_deprovisioned(session, tenant_id, user_id)
    invitations.revoke_pending_for_user(session, tenant_id, user_id, actor)


def delete_user(
    session: Session, tenant_id: str, actor: str, user_id: str, expected_version: str | None = None
) -> None:
    row = get_user(session, tenant_id, user_id)
    if expected_version is not None and etag(row.version) != expected_version:
        raise PreconditionFailedException
    before = summary(row)
    _deprovisioned(session, tenant_id, user_id, actor)
    session.execute(
        delete(ScimGroupMember).where(
            ScimGroupMember.tenant_id == tenant_id, ScimGroupMember.member_id == user_id
        )
    )
    session.delete(row)
    session.flush()
    record(session, tenant_id, actor, "scim.user.delete", "scim_user", user_id, before=before)


def count_users(session: Session, tenant_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(ScimUser).where(ScimUser.tenant_id == tenant_id)
        )
        or 0
    )


def etag(version: int) -> str:
    return f'W/"{version}"'
