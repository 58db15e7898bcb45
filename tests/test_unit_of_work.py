"""One unit of work per update: the customer looked up once, one transaction, none held while Telegram
answers. Statements and transactions are counted with SQLAlchemy engine events around single updates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from bot.context import env_of
from bot.faq import library
from bot.onboarding import handlers as onboarding
from storage import faq as faq_store
from storage.models import Customer, PointsEntry
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.harness import Harness

pytestmark = pytest.mark.asyncio

TAKE_WRITE_LOCK = "UPDATE customers SET id = id WHERE 0"  # storage/db.py take_write_lock
ANNA = TgUser(id=61001, first_name="Anna", language_code="en", username="anna")
SALMA = TgUser(id=61002, first_name="سلمى", language_code="ar")
WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Tally:
    statements: list[str] = field(default_factory=list)
    begins: int = 0

    @property
    def writes(self) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith(WRITES)]

    def __str__(self) -> str:
        return f"{self.begins} transaction(s):\n" + "\n".join(s.split("\n")[0][:120] for s in self.statements)


@contextmanager
def counted(harness: Harness) -> Iterator[Tally]:
    """SQL statements (SQLite's BEGIN [IMMEDIATE] apart) and transactions begun while the block runs."""
    tally = Tally()
    engine = harness.db.engine.sync_engine
    sqlite_begins: list[str] = []

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):
            sqlite_begins.append(statement)
        else:
            tally.statements.append(statement)

    def on_begin(_conn: Any) -> None:
        tally.begins += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "begin", on_begin)
    try:
        yield tally
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "begin", on_begin)
    if harness.db.is_sqlite:  # a reader's transaction never takes SQLite's write lock
        immediate = sum(1 for begin in sqlite_begins if "IMMEDIATE" in begin)
        assert immediate <= (1 if tally.writes else 0), f"BEGIN IMMEDIATE without a write\n{tally}"


async def joined(harness: Harness, user: TgUser = ANNA) -> None:
    await harness.send(updates.command(user, "/start"))


async def test_balance_of_a_known_customer_is_one_read_transaction_of_three_statements(harness):
    await joined(harness)
    with counted(harness) as tally:
        await harness.send(updates.command(ANNA, "/balance"))
    assert "points" in harness.last_text_to(ANNA).lower()
    assert tally.begins == 1, tally
    assert len(tally.statements) <= 3, tally
    assert tally.writes == [], tally


@pytest.mark.parametrize("command", ["/history", "/help", "/card", "/rewards"])
async def test_pure_reads_write_nothing_in_one_transaction(harness, command):
    await joined(harness)
    with counted(harness) as tally:
        await harness.send(updates.command(ANNA, command))
    assert tally.begins == 1, tally
    assert tally.writes == [], tally
    assert len(tally.statements) <= 3, tally


async def test_help_costs_one_statement(harness):
    await joined(harness)
    with counted(harness) as tally:
        await harness.send(updates.command(ANNA, "/help"))
    assert len(tally.statements) == 1, tally


async def test_first_start_registers_once_in_one_write_transaction(harness):
    with counted(harness) as tally:
        await joined(harness)
    assert tally.begins == 1, tally
    assert "welcome" in harness.texts_to(ANNA)[0].lower()
    for command in ("/start", "/balance", "/history", "/start"):
        await harness.send(updates.command(ANNA, command))
    async with harness.db.read_session() as session:
        customers = (await session.exec(select(Customer).where(col(Customer.telegram_id) == ANNA.id))).all()
        (customer,) = customers
        welcome = (
            await session.exec(
                select(PointsEntry).where(
                    col(PointsEntry.customer_id) == customer.id, col(PointsEntry.kind) == "welcome"
                )
            )
        ).all()
    assert customer.member_code, "the member code is given when the customer joins"
    assert len(welcome) <= 1, "the welcome bonus is given once"


async def test_a_returning_start_is_one_write_transaction_of_two_statements(harness):
    await joined(harness)
    with counted(harness) as tally:
        await joined(harness)
    assert "welcome back" in harness.last_text_to(ANNA).lower()
    assert tally.begins == 1, tally
    assert len(tally.statements) <= 2, tally


async def test_a_first_contact_by_any_customer_command_registers(harness):
    with counted(harness) as tally:
        await harness.send(updates.command(SALMA, "/balance"))
    # Looked up, created and welcomed, balance read: one transaction (on SQLite the reader takes the write
    # lock in place, nobody having written since it began).
    assert tally.begins == 1, tally
    async with harness.db.read_session() as session:
        (customer,) = (
            await session.exec(select(Customer).where(col(Customer.telegram_id) == SALMA.id))
        ).all()
    assert customer.locale == "ar" and customer.member_code


async def test_a_new_telegram_name_is_written_once_then_reads_stay_reads(harness):
    await joined(harness)
    renamed = TgUser(id=ANNA.id, first_name="Anne", language_code="en", username="anne")
    with counted(harness) as tally:
        await harness.send(updates.command(renamed, "/balance"))
    changes = [s for s in tally.writes if s != TAKE_WRITE_LOCK]  # SQLite's in-place upgrade changes nothing
    assert len(changes) == 1 and tally.begins == 1, tally
    with counted(harness) as tally:
        await harness.send(updates.command(renamed, "/balance"))
    assert tally.writes == [], tally
    async with harness.db.read_session() as session:
        (customer,) = (await session.exec(select(Customer).where(col(Customer.telegram_id) == ANNA.id))).all()
    assert (customer.first_name, customer.username) == ("Anne", "anne")


async def test_no_transaction_is_open_while_telegram_answers(harness):
    await joined(harness)
    pool = harness.db.engine.pool
    seen: list[int] = []
    handle = harness.api.handle

    async def watching(method: str, params: dict[str, Any]):
        seen.append(pool.checkedout())
        return await handle(method, params)

    harness.api.handle = watching  # type: ignore[method-assign]
    for command in ("/balance", "/history", "/start", "/help"):
        await harness.send(updates.command(ANNA, command))
    await harness.send(updates.message(ANNA, "how long does delivery take?"))
    assert seen and set(seen) == {0}, f"connections checked out during Bot API calls: {seen}"


async def test_a_failing_update_keeps_nothing_of_its_transaction(harness, monkeypatch):
    await joined(harness)

    async def fail_after_writing(session, *, telegram_id, opt_in):
        await original(session, telegram_id=telegram_id, opt_in=opt_in)
        raise RuntimeError("boom after the write")

    original = onboarding.customers.set_marketing_opt_in
    monkeypatch.setattr(onboarding.customers, "set_marketing_opt_in", fail_after_writing)
    await harness.send(updates.command(ANNA, "/stop"), allow_errors=True)
    assert "went wrong" in harness.last_text_to(ANNA).lower() or harness.errors
    async with harness.db.read_session() as session:
        (customer,) = (await session.exec(select(Customer).where(col(Customer.telegram_id) == ANNA.id))).all()
    assert customer.marketing_opt_in, "the failed /stop was rolled back"


async def test_an_faq_answer_is_one_read_transaction_and_its_hit_is_written_later(harness):
    await joined(harness)
    await harness.send(updates.message(ANNA, "how long does delivery take?"))  # the FAQ is seeded, cached
    with counted(harness) as tally:
        await harness.send(updates.message(ANNA, "how long does delivery take?"))
    assert "Did this help?" in harness.last_text_to(ANNA)
    assert tally.begins == 1, tally
    assert tally.writes == [], tally
    assert len(tally.statements) <= 2, tally  # the customer, and whether anything waits for their text
    await library.flush_hits(env_of(harness.app), harness.app.bot_data)
    async with harness.db.read_session() as session:
        entries = await faq_store.list_entries(session)
    hits = {entry.code: entry.hits for entry in entries if entry.locale == "en"}
    assert hits["shipping"] == 2, hits
