"""One update's database work: the customer it comes from, found once, and one transaction at a time.

`bot/customer_step.py` opens a `UnitOfWork` for every update a handler will take and resolves the customer
in it; handlers and the services they call work in its session (`context.uow`, or `env.reading()` /
`env.writing()` through AppEnv); `bot/replies.py` commits it before a reply goes out, so no transaction is
held while Telegram answers; the last step of the update (or the error handler, rolling back) ends it.

The mode is chosen up front from what the matching handler declares with `@handles`: a reader runs in a
read transaction (on SQLite it does not take the write lock), a writer in one write transaction. A reader
that turns out to write upgrades: on PostgreSQL the same transaction goes on; on SQLite the read
transaction ends and the write one begins with BEGIN IMMEDIATE, because a deferred SQLite reader that starts
writing fails with SQLITE_BUSY_SNAPSHOT whenever another connection wrote since its first read. First,
though, it tries to take the write lock in place (storage/db.py take_write_lock): when nobody else wrote
meanwhile (the common case) the read transaction simply becomes the write one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from telegram.ext import BaseRateLimiter

from storage.db import take_write_lock

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from storage.db import Database
    from storage.models import Customer

F = TypeVar("F", bound=Callable[..., Any])
Action = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Intent:
    """What a handler does with the database, declared with `@handles` and read before it runs."""

    writes: bool = False  # open the write transaction up front (one transaction, not read then write)
    joins: bool = False  # in a private chat, a user met here for the first time becomes a customer
    keeps: bool = True  # the handler works in the update's unit; False: it opens sessions of its own


# Handlers that do not declare anything: the customer is looked up (never created) and the read ends at once.
LOOKUP = Intent(writes=False, joins=False, keeps=False)
INTENT_ATTRIBUTE = "unit_intent"


def handles(*, writes: bool = False, joins: bool = False) -> Callable[[F], F]:
    """Declare a handler's database use; functools.wraps-based decorators (merchant_only) carry it over."""

    def mark(handler: F) -> F:
        setattr(handler, INTENT_ATTRIBUTE, Intent(writes=writes, joins=joins))
        return handler

    return mark


def intent_of(callback: object) -> Intent:
    return getattr(callback, INTENT_ATTRIBUTE, LOOKUP)


def combine(intents: list[Intent]) -> Intent:
    return Intent(
        writes=any(i.writes for i in intents),
        joins=any(i.joins for i in intents),
        keeps=any(i.keeps for i in intents),
    )


class UnitOfWork:
    """The update's session; at most one transaction open at a time, usually exactly one per update."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.customer: Customer | None = None
        self.created = False  # the customer was created by this update (their first contact)
        self.user_id: int | None = None  # the Telegram user the update comes from
        self.locale: str | None = None  # the user's Telegram language, for users who are no customer
        self.done = False  # finished: whatever still holds it must not use it
        # The update's task: asyncio copies context variables into tasks and callbacks (a job scheduled
        # during the update starts with CURRENT set), and a session must not be shared between tasks.
        self.task = asyncio.current_task()
        self._session: AsyncSession | None = None
        self._writing = False
        self._later: list[Action] = []
        self.notes: dict[str, Any] = {}  # what one step of the update found for later ones

    @property
    def in_transaction(self) -> bool:
        return self._session is not None and self._session.in_transaction()

    async def read(self) -> AsyncSession:
        """The update's session, in its open transaction or a new read transaction."""
        if not self.in_transaction:
            await self._begin(write=False)
        return self._require()

    async def write(self) -> AsyncSession:
        """The update's session in a write transaction (upgrading a read one)."""
        if self.in_transaction and not self._writing:
            if not self.db.is_sqlite or await take_write_lock(self._require()):
                self._writing = True  # the same transaction goes on, what it read still current
            else:
                await self._require().commit()  # it wrote nothing; the write lock is waited for next
        if not self.in_transaction:
            await self._begin(write=True)
            if self.customer is not None and self.customer in self._require():
                await self._require().refresh(self.customer)  # what was read may have changed since
        return self._require()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """`async with unit.reading() as session:` reads in the update's transaction; nothing ends with
        the block (the update commits once, before it replies)."""
        session = await self.read()
        try:
            yield session
        except BaseException:
            await self.rollback()
            raise

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """Like `reading()`, in a write transaction; an exception from the block rolls the update's
        transaction back, as leaving `db.session()` with one would."""
        session = await self.write()
        try:
            yield session
        except BaseException:
            await self.rollback()
            raise

    def later(self, action: Action) -> None:
        """Run `action` when the update is done and its work committed (after the handler's replies)."""
        self._later.append(action)

    async def commit(self) -> None:
        """End the open transaction, keeping what it did (before anything goes to Telegram, and at the end).

        A statement after this begins a new transaction (SQLAlchemy's autobegin; on SQLite it takes the
        write lock, the safe default): `in_transaction` sees it, so the end of the update commits it too.
        """
        self._writing = False
        if self.in_transaction:
            await self._require().commit()

    async def rollback(self) -> None:
        """Undo the open transaction and forget the actions that were to follow it."""
        self._later.clear()
        self._writing = False
        if self.in_transaction:
            await self._require().rollback()

    async def finish(self) -> None:
        """Commit, release the connection, then run the actions left for after the update."""
        self.done = True
        try:
            await self.commit()
        finally:
            await self.close()
        actions, self._later = self._later, []
        for action in actions:
            await action()

    async def close(self) -> None:
        """Release the session (rolling back anything still open); safe to call twice."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _begin(self, *, write: bool) -> None:
        if self._session is None:
            self._session = self.db.new_session()
        # The options reach storage/db.py's begin hook: BEGIN IMMEDIATE for writers on SQLite.
        await self._session.connection(execution_options={"readonly": not write})
        self._writing = write

    def _require(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work has no session")
        return self._session


# The update being processed; the error handler (which PTB gives a context of its own) finds it here.
# asyncio copies context variables into callbacks and tasks, so a job scheduled during an update starts
# with this set: `current()` ignores a unit that is done.
CURRENT: ContextVar[UnitOfWork | None] = ContextVar("unit_of_work", default=None)


def current() -> UnitOfWork | None:
    """The unit of work of the update this task is processing, if any."""
    unit = CURRENT.get()
    if unit is None or unit.done or unit.task is not asyncio.current_task():
        return None
    return unit


class CommitBeforeSending(BaseRateLimiter[Any]):
    """Wraps the bot's rate limiter so that every Bot API call first commits the calling update's unit of
    work: no transaction (on SQLite, no write lock) is held while Telegram answers."""

    def __init__(self, inner: BaseRateLimiter[Any]) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # the inner limiter's own attributes (its bulk pacer)
        return getattr(self.inner, name)

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        unit = current()
        if unit is not None:
            await unit.commit()
        return await self.inner.process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


async def finish_current_unit() -> None:
    """End the update's unit of work if its last step did not (safe when there is none)."""
    unit = current()
    CURRENT.set(None)
    if unit is not None:
        await unit.finish()
