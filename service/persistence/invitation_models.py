"""Tables of invitations and admin jobs.

An invitation's token is never stored: only its SHA-256 (`token_hash`) and the
random nonce from which the sending worker derives it (see
service.services.invitations). An invitation may name where it invites to
(`role_key` at `scope_id`, checked when it is made; see
service.domain.invitations.InvitedGrant) and, once accepted, what became of that
grant (`grant_outcome`, `grant_reason`). They are plain values, not foreign keys: a
role or scope deleted meanwhile makes the grant refused at accept, saying why,
instead of blocking the delete or vanishing. `invitation_deliveries` is the
append-only history of every attempt to hand the message to the mail server. A job
is a bulk invite with one row per input line; its totals are counted from those
rows, so they are exact however often a batch task runs. A job row keeps its input
as sent (`scope` holds the `scope_id` column; `account`, the older way to name an
account, only in rows of older jobs).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.domain import invitations as lifecycle
from service.domain.invitations import GrantOutcome, InvitationStatus, InvitedGrant
from service.persistence.base import Base, UtcDateTime, uuid_pk
from service.persistence.base import created_at as stamped_now

# Stored by value; the order is the enum's (and the check constraint's).
INVITATION_STATUSES = tuple(status.value for status in InvitationStatus)
# A live invitation can still reach its person; a tenant holds at most one per user.
LIVE_STATUSES = tuple(status.value for status in InvitationStatus if status in lifecycle.LIVE)
GRANT_OUTCOMES = tuple(outcome.value for outcome in GrantOutcome)
JOB_ROW_STATUSES = ("invalid", "queued", "processing", "sent", "failed", "skipped")


def _in(values: tuple[str, ...], column: str = "status") -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


_LIVE = text(_in(LIVE_STATUSES))
# The columns the lifecycle aggregate reads and writes (its fields, named as columns).
_LIFECYCLE = tuple(field.name for field in fields(lifecycle.Invitation))
assert _LIFECYCLE[0] == "id"


class InvitationSettings(Base):
    """A tenant's invitation settings and template; absent values use the defaults."""

    __tablename__ = "invitation_settings"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    ttl_hours: Mapped[int | None] = mapped_column(Integer)
    invite_scim_users: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    template_subject: Mapped[str | None] = mapped_column(Text)
    template_text: Mapped[str | None] = mapped_column(Text)
    template_html: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = stamped_now()


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    # SET NULL keeps the history of a user who is deleted outright.
    user_id: Mapped[str | None] = mapped_column(ForeignKey("scim_users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    email_lower: Mapped[str] = mapped_column(String(320), nullable=False)
    display_name: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    token_hash: Mapped[str | None] = mapped_column(String(64))
    token_nonce: Mapped[str | None] = mapped_column(String(64))
    send_round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    transient_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    inviter: Mapped[str] = mapped_column(String(80), nullable=False)
    inviter_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    sending_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    job_id: Mapped[str | None] = mapped_column(String(36))
    # Where it invites to (None: nowhere), and what accepting it did with that.
    # The role's ref, product/key (a product key and a role key, 128 each, and "/").
    role_key: Mapped[str | None] = mapped_column(String(257))
    scope_id: Mapped[str | None] = mapped_column(String(36))
    assign_account: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    grant_outcome: Mapped[str | None] = mapped_column(String(16))
    grant_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = stamped_now()
    updated_at: Mapped[datetime] = stamped_now()

    def grant(self) -> InvitedGrant | None:
        """Where the invitation invites to, or None."""
        if self.role_key is None or self.scope_id is None:
            return None
        return InvitedGrant(self.role_key, self.scope_id, bool(self.assign_account))

    def set_grant(self, grant: InvitedGrant | None) -> None:
        self.role_key = grant.role_key if grant else None
        self.scope_id = grant.scope_id if grant else None
        self.assign_account = bool(grant and grant.assign_account)

    def lifecycle(self) -> lifecycle.Invitation:
        """The row's lifecycle state, as the domain aggregate."""
        return lifecycle.Invitation(**{name: getattr(self, name) for name in _LIFECYCLE})

    def keep(self, state: lifecycle.Invitation) -> InvitationStatus | None:
        """Write the aggregate's state back; the new status if it changed, else None."""
        assert state.id == self.id, (state.id, self.id)
        before = self.status
        for name in _LIFECYCLE[1:]:
            value = getattr(state, name)
            setattr(self, name, value.value if isinstance(value, InvitationStatus) else value)
        return state.status if state.status.value != before else None

    __table_args__ = (
        CheckConstraint(_in(INVITATION_STATUSES), name="status"),
        CheckConstraint(_in(GRANT_OUTCOMES, "grant_outcome"), name="grant_outcome"),
        Index(
            "uq_invitations_live_user",
            "tenant_id",
            "user_id",
            unique=True,
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        ),
        Index("uq_invitations_token_hash", "token_hash", unique=True),
        Index("ix_invitations_tenant_status", "tenant_id", "status", "created_at"),
        Index("ix_invitations_tenant_email", "tenant_id", "email_lower"),
        Index("ix_invitations_user", "user_id"),
    )


class InvitationDelivery(Base):
    """One attempt to hand an invitation to the mail server; append-only."""

    __tablename__ = "invitation_deliveries"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    invitation_id: Mapped[str] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tenant_id: Mapped[str] = mapped_column(String(36), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    send_round: Mapped[int] = mapped_column(Integer, nullable=False)
    at: Mapped[datetime] = stamped_now()
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    smtp_code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    actor: Mapped[str] = mapped_column(String(80), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    total_rows: Mapped[int] = mapped_column(Integer, nullable=False)
    invalid_rows: Mapped[int] = mapped_column(Integer, nullable=False)
    batches: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = stamped_now()
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_jobs_tenant_created", "tenant_id", "created_at"),)


class JobRow(Base):
    """One input line of a job and what became of it."""

    __tablename__ = "job_rows"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(36), nullable=False)
    batch: Mapped[int | None] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(320), nullable=False, default="")
    name: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    role: Mapped[str | None] = mapped_column(String(200))
    scope: Mapped[str | None] = mapped_column(String(200))
    account: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    invitation_id: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        CheckConstraint(
            "status IN ('invalid', 'queued', 'processing', 'sent', 'failed', 'skipped')",
            name="status",
        ),
        Index("ix_job_rows_job_status", "job_id", "status"),
        Index("ix_job_rows_job_batch", "job_id", "batch"),
        Index("ix_job_rows_invitation", "invitation_id"),
    )


# The lifecycle state by plain statements, for the settle after each message (the hot
# path of a bulk job), where loading and flushing the ORM object cost more than the
# statements themselves. The same columns and conversion as `Invitation.lifecycle`.
_STATE = select(*(Invitation.__table__.c[name] for name in _LIFECYCLE))


def lock_lifecycle(connection: Connection, invitation_id: str) -> lifecycle.Invitation | None:
    """The invitation's lifecycle state under a row lock, or None if it is gone."""
    row = connection.execute(
        _STATE.where(Invitation.__table__.c.id == invitation_id).with_for_update()
    ).first()
    return lifecycle.Invitation(**row._mapping) if row is not None else None


def store_lifecycle(
    connection: Connection, before: lifecycle.Invitation, after: lifecycle.Invitation
) -> InvitationStatus | None:
    """Write the fields that changed from `before`; the new status if it changed."""
    changed = {
        name: value.value if isinstance(value, InvitationStatus) else value
        for name in _LIFECYCLE[1:]
        if (value := getattr(after, name)) != getattr(before, name)
    }
    if changed:
        table = Invitation.__table__
        connection.execute(update(table).where(table.c.id == after.id).values(**changed))
    return after.status if after.status != before.status else None
