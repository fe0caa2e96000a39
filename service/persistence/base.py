"""The declarative base shared by every table, with a constraint naming convention
so Alembic migrations name constraints the same way on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Dialect,
    MetaData,
    String,
    TypeDecorator,
    any_,
    literal,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# PostgreSQL refuses NUL in text, JSONB and even in a query parameter, so no stored
# string, and no value a query compares with, may hold one.
NUL = "\x00"


def column_length(column: Any) -> int | None:
    """The declared length of a string column (a Column or a mapped attribute); None
    when it has none (TEXT). Limits on input are read from here, not restated."""
    return getattr(column.type, "length", None)


def among(session: Session, column: Any, ids: Collection[str]) -> ColumnElement[bool]:
    """``column IN ids``: on PostgreSQL as ``= ANY(array)``, with the ids as one parameter.

    SQLAlchemy renders an IN list as one bound parameter per value; for the hundreds
    of ids of a batch, rendering and converting them costs the client more than
    PostgreSQL takes to run the query, and binding one array does not."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(ids), ARRAY(String)))
    return column.in_(ids)


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; every stored time is UTC-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def uuid_pk() -> Mapped[str]:
    """UUID primary keys, stored as 36-character text so SQLite and PostgreSQL agree."""
    return mapped_column(String(36), primary_key=True, default=new_id)


def created_at() -> Mapped[datetime]:
    return mapped_column(UtcDateTime(), default=utcnow, nullable=False)
