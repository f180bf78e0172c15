"""Every database failure leaves the store as a `StoreError` with a short message.

SQLAlchemy's and the drivers' own errors carry the SQL (and, unless hidden, its parameters:
meeting passwords, host links). The store's public calls are wrapped by `guarded`: such an
error becomes a `StoreError` that names the call and the kind of failure
("meetbot's store failed in claim_jobs: OperationalError (ConnectionDoesNotExistError)"), with
the original chained for a debugger, so the bot logs one line and a user sees a short answer,
never a traceback.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from commands.store.records import StoreError

P = ParamSpec("P")
T = TypeVar("T")
C = TypeVar("C", bound=type)

#: what a database failure can be: SQLAlchemy's errors, and the socket's when a server is gone
FAILURES = (SQLAlchemyError, OSError)


def describe(error: BaseException) -> str:
    """The kind of failure, never its text (which holds SQL): `IntegrityError (UniqueViolation)`."""
    kind = type(error).__name__
    if isinstance(error, DBAPIError) and error.orig is not None:
        return f"{kind} ({type(error.orig).__name__})"
    return kind


def failed(what: str, error: BaseException) -> StoreError:
    return StoreError(f"meetbot's store failed in {what}: {describe(error)}")


def shielded(
    what: str, call: Callable[P, Coroutine[Any, Any, T]]
) -> Callable[P, Coroutine[Any, Any, T]]:
    @functools.wraps(call)
    async def guarded_call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await call(*args, **kwargs)
        except StoreError:
            raise
        except FAILURES as error:
            raise failed(what, error) from error

    return guarded_call


def guarded(cls: C) -> C:
    """Wrap every public coroutine method `cls` defines or inherits (see the module's doc)."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        method = inspect.getattr_static(cls, name)
        if inspect.iscoroutinefunction(method):
            setattr(cls, name, shielded(name, method))
    return cls
