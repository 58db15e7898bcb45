"""A reader that starts writing: on SQLite the read transaction takes the write lock in place when nobody
wrote meanwhile (one transaction), and otherwise ends and begins a write transaction that sees the other
write (the customer read before is refreshed); on PostgreSQL the transaction always goes on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.unit_of_work import UnitOfWork
from storage.customers import TelegramProfile, ensure_customer, get_customer


async def a_customer(db) -> None:
    async with db.session() as session:
        await ensure_customer(session, profile=TelegramProfile(telegram_id=7, first_name="Old"), locale="en")


def count_begins(db) -> list[int]:
    begins: list[int] = []

    @event.listens_for(db.engine.sync_engine, "begin")
    def _begin(_connection: Any) -> None:
        begins.append(1)

    return begins


async def rename(db, name: str) -> None:
    async with db.session() as session:
        await session.execute(
            text("UPDATE customers SET first_name = :name WHERE telegram_id = 7"), {"name": name}
        )


async def test_a_read_becomes_the_write_transaction_when_nobody_wrote(db):
    await a_customer(db)
    begins = count_begins(db)
    unit = UnitOfWork(db)
    unit.customer = await get_customer(await unit.read(), telegram_id=7)
    session = await unit.write()
    await session.execute(text("UPDATE customers SET locale = 'ar' WHERE telegram_id = 7"))
    await unit.finish()
    assert len(begins) == 1
    async with db.read_session() as check:
        customer = await get_customer(check, telegram_id=7)
        assert customer is not None and customer.locale == "ar"


async def test_after_another_write_the_writer_starts_over_and_sees_it(db):
    await a_customer(db)
    unit = UnitOfWork(db)
    unit.customer = await get_customer(await unit.read(), telegram_id=7)
    await rename(db, "New")  # another connection writes after this unit's first read
    begins = count_begins(db)
    session = await unit.write()
    if db.is_sqlite:  # a new transaction, in which the customer read before is read again
        assert unit.customer.first_name == "New"
        assert len(begins) == 1
    else:  # PostgreSQL goes on in the same transaction (READ COMMITTED: later reads see the write)
        assert len(begins) == 0
    await session.execute(text("UPDATE customers SET locale = 'ar' WHERE telegram_id = 7"))
    await unit.finish()
    async with db.read_session() as check:
        customer = await get_customer(check, telegram_id=7)
        assert customer is not None and (customer.first_name, customer.locale) == ("New", "ar")


async def test_while_another_writer_holds_the_lock_the_upgrade_waits_for_it(db):
    if not db.is_sqlite:
        pytest.skip("PostgreSQL has no database write lock")
    await a_customer(db)
    holding, release = asyncio.Event(), asyncio.Event()

    async def other_writer() -> None:
        async with db.session() as session:
            await session.execute(text("UPDATE customers SET first_name = 'Held' WHERE telegram_id = 7"))
            holding.set()
            await release.wait()

    unit = UnitOfWork(db)
    unit.customer = await get_customer(await unit.read(), telegram_id=7)
    writer = asyncio.create_task(other_writer())
    await holding.wait()
    asyncio.get_running_loop().call_later(0.2, release.set)
    session = await unit.write()  # waits in BEGIN IMMEDIATE until the other writer commits
    assert release.is_set()
    assert unit.customer.first_name == "Held"
    await session.execute(text("UPDATE customers SET locale = 'ar' WHERE telegram_id = 7"))
    await unit.finish()
    await writer
