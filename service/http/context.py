"""Request-scoped access to the runtime, a unit of work and the caller."""

from __future__ import annotations

from flask import current_app, g

from service.persistence.unit_of_work import UnitOfWork
from service.runtime import Runtime
from service.services.tokens import Caller


def runtime() -> Runtime:
    return current_app.extensions["rolecall"]


def uow() -> UnitOfWork:
    """A new unit of work for one use case of this request; the use case enters it."""
    return runtime().unit_of_work()


def caller() -> Caller:
    return g.caller
