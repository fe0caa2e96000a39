"""Paging for the admin API's lists: one count and one page query, in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def paginate(
    session: Session, query: Select[Any], page: int, per_page: int, *, scalars: bool = True
) -> tuple[list[Any], int]:
    """The rows of page ``page`` (1-based) and the total number of rows.

    With ``scalars`` each row is its first column (an entity); without, a tuple.
    """
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    paged = query.limit(per_page).offset((page - 1) * per_page)
    rows = (
        list(session.scalars(paged)) if scalars else [tuple(row) for row in session.execute(paged)]
    )
    return rows, total
