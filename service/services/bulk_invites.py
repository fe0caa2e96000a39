"""Bulk invites: a CSV file or JSON rows become a job whose rows are invited in batches.

Input is checked row by row when it is submitted: every bad row is kept with its
line number and reason (status `invalid`, the reason naming the column), and the good
rows go ahead, unless the caller asked for all or nothing. A file-level problem (not
UTF-8, no header, an unknown column, a line the csv module cannot read) refuses the
whole file with one clear message naming the line.

A row may say where it invites to: `scope_id` and `role`, checked per row as a single
invitation's are (service.services.invitation_grants; a scope alone gets the default
role), the reason of a bad one naming its column. The invitation keeps them, and
accepting it grants the role at the scope. `scope` and `account`, the names these
columns had before, are still read as `scope_id` (an account scope makes the person
join the account either way).

The shape a job takes, declared here and nowhere else: the columns are `COLUMNS`;
each value fits the column that stores it, holds no NUL
(service.services.invitation_input); a job holds at most
`Settings.bulk_invite_max_rows` rows (ROLECALL_BULK_INVITE_MAX_ROWS); a CSV field
is at most what Python's csv module reads (`csv.field_size_limit()`, 128 KiB, far
above any column); line ends may be LF, CRLF or CR alone (old spreadsheets).

The good rows are cut into batches; each batch is one task on the invitations
queue (`rolecall.invitations.bulk_batch`, recorded in the outbox with the job).
A batch task first turns its queued rows into invitations in one transaction (where
each invites to checked again, as the roles and scopes may have changed since), a
row for a user who holds a live (or accepted) invitation becoming `skipped`, then
delivers them through service.services.invitation_delivery with one mail
connection. Run again, a batch finds nothing queued and only finishes delivering,
so resubmitting a file, or a batch delivered twice by Celery, invites nobody twice.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as ModelError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.cache.rate_limit import RateLimiter
from service.domain.errors import DomainError, ValidationFailed
from service.domain.invitations import InvitationStatus, InvitedGrant
from service.persistence.base import utcnow
from service.persistence.invitation_models import LIVE_STATUSES, Invitation, Job, JobRow
from service.persistence.outbox import emit
from service.persistence.scim_models import ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import invitation_delivery, invitation_grants, invitations, jobs
from service.services.audit import record
from service.services.invitation_input import address_problem, storable, value_problem
from service.settings import Settings

BATCH_TASK = "rolecall.invitations.bulk_batch"
BATCH_SIZE = 100
MAX_ROWS = Settings.bulk_invite_max_rows  # the default; the deployment's is a setting
COLUMNS = ("email", "name", "role", "scope_id")
REQUIRED_COLUMNS = ("email", "name")
# Names the columns had before, still read.
OLD_NAMES = {"scope": "scope_id", "account": "scope_id"}
HEADER = f"{','.join(REQUIRED_COLUMNS)}[,scope_id][,role]"
NAMES_SHOWN = 10  # of unknown or duplicated columns, in a message about the header
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass
class InputRow:
    line: int
    email: str = ""
    name: str = ""
    role: str | None = None
    scope_id: str | None = None
    problem: str | None = None


class BulkInputError(ValidationFailed):
    """The input as a whole cannot be read; nothing was submitted."""


# Parsing --------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BulkInputError(
            "bad_encoding",
            f"The file is not UTF-8: byte 0x{data[error.start]:02x} on line {line} "
            "cannot be decoded. Save it as UTF-8 and submit it again.",
            field="file",
        ) from None


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _too_many(max_rows: int, field: str) -> BulkInputError:
    return BulkInputError(
        "too_many_rows", f"A job takes at most {max_rows} rows; split the input", field=field
    )


def parse_csv(data: bytes, max_rows: int = MAX_ROWS) -> list[InputRow]:
    text = _decode(data)
    if not text.strip():
        raise BulkInputError("empty_file", "The file is empty", field="file")
    try:
        dialect = csv.Sniffer().sniff(_LINE_END.split(text, 1)[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    # newline="" hands the csv module the line ends as they are, so it reads CR-only
    # files and line breaks inside quoted fields (as the csv docs ask).
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        return _read_rows(reader, max_rows)
    except csv.Error as error:
        raise BulkInputError(
            "unreadable_csv",
            f"The file cannot be read as CSV at line {reader.line_num}: {error}",
            field="file",
        ) from None


def _read_rows(reader: Any, max_rows: int) -> list[InputRow]:
    header = [cell.strip().lower() for cell in next(reader)]
    _check_header(header)
    columns = _renamed(header)
    rows: list[InputRow] = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= max_rows:
            raise _too_many(max_rows, "file")
        row = InputRow(line=line)
        if len(cells) != len(header):
            row.email = cells[0].strip() if cells else ""
            row.problem = f"expected {len(header)} fields ({', '.join(header)}), found {len(cells)}"
        else:
            values = dict(zip(columns, cells, strict=True))
            _fill(row, values)
        rows.append(row)
    return rows


def _check_header(header: list[str]) -> None:
    if any("@" in cell for cell in header):
        raise BulkInputError(
            "missing_header",
            "The first line looks like data, not a header; the first line must name the "
            f"columns: {HEADER}",
            field="file",
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise BulkInputError(
            "missing_header",
            f"The header lacks the column(s) {', '.join(missing)}; it must name {HEADER}",
            field="file",
        )
    unknown = list(
        dict.fromkeys(name for name in header if name not in COLUMNS and name not in OLD_NAMES)
    )
    if unknown:
        raise BulkInputError(
            "unknown_column",
            f"Unknown column(s) {_names(unknown)}; allowed: {', '.join(COLUMNS)}",
            field="file",
        )
    duplicated = _named_twice(header)
    if duplicated:
        raise BulkInputError("duplicate_column", duplicated, field="file")


def _renamed(names: list[str]) -> list[str]:
    return [OLD_NAMES.get(name, name) for name in names]


def _named_twice(names: list[str]) -> str | None:
    """What is wrong with names that name a column twice (old names count), or None."""
    columns = _renamed(names)
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    if not duplicated:
        return None
    old = [name for name in OLD_NAMES if name in names]
    why = f" ({' and '.join(old)}: older names of scope_id)" if old else ""
    return f"Column(s) named twice: {_names(duplicated)}{why}"


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(name[:40]) for name in names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return f"{shown} (and {more} more)" if more > 0 else shown


def _fill(row: InputRow, values: dict[str, Any]) -> None:
    row.email = _clean(values.get("email")) or ""
    row.name = _clean(values.get("name")) or ""
    row.role = _clean(values.get("role"))
    row.scope_id = _clean(values.get("scope_id"))


def parse_json(items: Any, max_rows: int = MAX_ROWS) -> list[InputRow]:
    if not isinstance(items, list):
        raise BulkInputError("invalid_rows", "`rows` must be a list of objects", field="rows")
    if len(items) > max_rows:
        raise _too_many(max_rows, "rows")
    rows: list[InputRow] = []
    for index, item in enumerate(items, start=1):
        row = InputRow(line=index)
        if not isinstance(item, dict):
            row.problem = "each row must be an object with email and name"
        else:
            unknown = sorted(set(item) - set(COLUMNS) - set(OLD_NAMES))
            names = [str(name) for name in item]
            _fill(row, dict(zip(_renamed(names), item.values(), strict=True)))
            if unknown:
                row.problem = f"unknown field(s) {', '.join(unknown)}"
            else:
                row.problem = _named_twice(names)
        rows.append(row)
    return rows


def fill_in(rows: list[InputRow], *, scope_id: str | None, role: str | None) -> None:
    """Give rows that leave `scope_id` or `role` empty these (`rolecall invite --scope
    --role`); a row's own values win."""
    for row in rows:
        row.scope_id = row.scope_id or _clean(scope_id)
        row.role = row.role or _clean(role)


# Validation -----------------------------------------------------------------------


def _value_problem(row: InputRow) -> str | None:
    """The first column whose value cannot be stored, and why: `column: reason`."""
    for column in COLUMNS:
        value = getattr(row, column)
        problem = value_problem(column, value) if value else None
        if problem is not None:
            return f"{column}: {problem}"
    return None


def validate_rows(rows: list[InputRow]) -> None:
    """Set `problem` on every bad row: a value that cannot be stored, an invalid email,
    duplicates. (Where a row invites to is checked against the tenant: check_grants.)"""
    seen: dict[str, int] = {}
    for row in rows:
        if row.problem:
            continue
        if not row.email:
            row.problem = "email is empty"
            continue
        problem = _value_problem(row) or address_problem(row.email)
        if problem:
            row.problem = problem
            continue
        key = row.email.lower()
        if key in seen:
            row.problem = f"duplicate of line {seen[key]} ({row.email})"
            continue
        seen[key] = row.line


def _grant_or_problem(
    checker: invitation_grants.GrantChecker, scope_id: str | None, role: str | None
) -> tuple[InvitedGrant | None, str | None]:
    """Where a row invites to, or why it cannot, as `column: reason`."""
    try:
        return checker.check(scope_id, role), None
    except DomainError as error:  # an unknown or ambiguous role, a group-only product
        return None, f"{error.field}: {error.message}"


def check_grants(uow: UnitOfWork, tenant_id: str, rows: list[InputRow]) -> None:
    """Set `problem` on every row whose scope and role cannot be invited to."""
    wanted = [row for row in rows if not row.problem and (row.scope_id or row.role)]
    checker = invitation_grants.GrantChecker(
        uow, tenant_id, [(row.scope_id, row.role) for row in wanted]
    )
    for row in wanted:
        _, row.problem = _grant_or_problem(checker, row.scope_id, row.role)


# Submitting -----------------------------------------------------------------------


def submit(
    uow: UnitOfWork,
    tenant_id: str,
    rows: list[InputRow],
    *,
    actor: str,
    source: str,
    all_or_nothing: bool = False,
) -> Job:
    """Record the job and its rows, and the batch tasks in the outbox, in one transaction."""
    if not rows:
        raise BulkInputError("no_rows", "There are no rows to invite", field="file")
    validate_rows(rows)
    with uow:
        check_grants(uow, tenant_id, rows)
        bad = [row for row in rows if row.problem]
        if bad and all_or_nothing:
            listed = "; ".join(f"line {row.line}: {row.problem}" for row in bad[:20])
            more = f" (and {len(bad) - 20} more)" if len(bad) > 20 else ""
            raise ValidationFailed(
                "invalid_rows",
                f"{len(bad)} of {len(rows)} rows are invalid and all_or_nothing is set, so "
                f"no one was invited: {listed}{more}",
                field="rows",
            )
        good = len(rows) - len(bad)
        return _submit(uow.session, tenant_id, rows, good, len(bad), actor, source)


def _submit(
    session: Session,
    tenant_id: str,
    rows: list[InputRow],
    good: int,
    bad: int,
    actor: str,
    source: str,
) -> Job:
    batches = (good + BATCH_SIZE - 1) // BATCH_SIZE
    job = Job(
        tenant_id=tenant_id,
        kind="bulk_invite",
        actor=actor,
        source=source,
        total_rows=len(rows),
        invalid_rows=bad,
        batches=batches,
    )
    session.add(job)
    session.flush()
    good_index = 0
    mappings: list[dict[str, Any]] = []
    for row in rows:
        batch = None
        if not row.problem:
            batch = good_index // BATCH_SIZE
            good_index += 1
        mappings.append(
            {
                "job_id": job.id,
                "line": row.line,
                "tenant_id": tenant_id,
                "batch": batch,
                "email": storable("email", row.email),
                "name": storable("name", row.name),
                "role": storable("role", row.role),
                "scope": storable("scope_id", row.scope_id),
                "status": "invalid" if row.problem else "queued",
                "reason": row.problem,
            }
        )
    session.execute(JobRow.__table__.insert(), mappings)
    for batch in range(batches):
        emit(
            session, tenant_id, BATCH_TASK, f"{job.id}:{batch}", {"job_id": job.id, "batch": batch}
        )
    if not batches:
        job.finished_at = job.created_at
    record(
        session,
        tenant_id,
        actor,
        "invitation.bulk.submit",
        "job",
        job.id,
        after={"rows": len(rows), "invalid": bad, "source": source},
    )
    return job


# Processing -----------------------------------------------------------------------


def _prepare(uow: UnitOfWork, tenant_id: str, job: Job, batch: int, settings: Settings) -> None:
    """Turn the batch's queued rows into invitations (or skips), in this transaction.

    Users and their invitations, and the roles and scopes the rows invite to, are
    looked up for the whole batch at once; a row whose user holds a live or accepted
    invitation is skipped."""
    session = uow.session
    rows = list(
        session.scalars(
            select(JobRow)
            .where(JobRow.job_id == job.id, JobRow.batch == batch, JobRow.status == "queued")
            .order_by(JobRow.line)
            .with_for_update()
        )
    )
    if not rows:
        return
    ttl = invitations.settings_of(uow, tenant_id, settings).ttl_hours
    checker = invitation_grants.GrantChecker(uow, tenant_id, [(r.scope, r.role) for r in rows])
    grants: dict[int, InvitedGrant | None] = {}
    for row in rows:
        grants[row.line], problem = _grant_or_problem(checker, row.scope, row.role)
        if problem is not None:
            row.status, row.reason = "failed", problem
    users = {
        user.user_name_lower: user
        for user in session.scalars(
            select(ScimUser).where(
                ScimUser.tenant_id == tenant_id,
                ScimUser.user_name_lower.in_([row.email.lower() for row in rows]),
            )
        )
    }
    created: set[str] = set()
    for row in rows:
        if row.status != "queued" or row.email.lower() in users:
            continue
        try:
            user = invitations.create_user_for_email(uow, tenant_id, row.email, row.name, job.actor)
        except (ModelError, DomainError) as error:
            row.status = "failed"
            row.reason = f"the user could not be created: {error}"[:1000]
            continue
        users[user.user_name_lower] = user
        created.add(user.id)
    held = _invitations_held(session, tenant_id, [user.id for user in users.values()])
    for row in rows:
        if row.status != "queued":
            continue
        user = users[row.email.lower()]
        existing = held.get(user.id)
        if existing is not None and user.id in created:
            # The SCIM create path invited the new user itself; that is this row's invitation.
            if existing.grant() is None:
                existing.set_grant(grants[row.line])
            row.status = "processing"
            row.invitation_id = existing.id
            continue
        if existing is not None:
            row.status = "skipped"
            row.invitation_id = existing.id
            row.reason = f"already invited ({invitations.shown_status(existing)})"
            continue
        invitation = invitations.new_invitation(
            uow,
            tenant_id,
            user,
            actor=job.actor,
            inviter_name=invitations.DEFAULT_INVITER,
            ttl_hours=ttl,
            job_id=job.id,
            send=False,
            grant=grants[row.line],
        )
        row.status = "processing"
        row.invitation_id = invitation.id


def _invitations_held(
    session: Session, tenant_id: str, user_ids: list[str]
) -> dict[str, Invitation]:
    """Each user's live invitation, else an accepted one; live ones past expiry expire."""
    now = utcnow()
    held: dict[str, Invitation] = {}
    if not user_ids:
        return held
    found = session.scalars(
        select(Invitation)
        .where(
            Invitation.tenant_id == tenant_id,
            Invitation.user_id.in_(user_ids),
            Invitation.status.in_((*LIVE_STATUSES, InvitationStatus.ACCEPTED.value)),
        )
        .with_for_update()
    )
    for invitation in found:
        assert invitation.user_id is not None
        if invitations.expire_if_due(invitation, now):
            continue
        if invitation.status in LIVE_STATUSES or invitation.user_id not in held:
            held[invitation.user_id] = invitation
    return held


def process_batch(
    uow: UnitOfWork,
    settings: Settings,
    rates: RateLimiter,
    tenant_id: str,
    job_id: str,
    batch: int,
    holder: str,
) -> invitation_delivery.DeliveryReport:
    """One batch of a job: prepare its rows, then deliver them. Each step is its own
    transaction on `uow` (as in invitation_delivery.deliver): hand it one not entered."""
    try:
        with uow:
            job = uow.session.get(Job, job_id)
            if job is None or job.tenant_id != tenant_id:
                return invitation_delivery.DeliveryReport()
            _prepare(uow, tenant_id, job, batch, settings)
    except IntegrityError:
        # Another job invited one of these people a moment ago; run again to skip them.
        report = invitation_delivery.DeliveryReport()
        report.later(0.5)
        return report
    with uow.reading() as session:
        pending_ids = list(
            session.scalars(
                select(JobRow.invitation_id).where(
                    JobRow.job_id == job_id, JobRow.batch == batch, JobRow.status == "processing"
                )
            )
        )
    report = invitation_delivery.deliver(
        uow, settings, rates, tenant_id, [i for i in pending_ids if i], holder
    )
    with uow:
        jobs.finish_if_done(uow.session, job_id)
    return report
