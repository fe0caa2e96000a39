"""Request-scoped access to the runtime, the database session and the caller."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy.orm import Session

from service.runtime import Runtime
from service.services.tokens import Caller


def runtime() -> Runtime:
    return current_app.extensions["rolecall"]


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on an exception;
    the work it recorded in the outbox is sent after the commit."""
    with runtime().unit_of_work() as uow:
        yield uow.session


def caller() -> Caller:
    return g.caller
