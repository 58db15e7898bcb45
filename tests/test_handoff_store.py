"""Hand-off storage on SQLite and PostgreSQL: racing opens and closes, relayed-message lookups."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from storage import customers
from storage import handoff as store
from storage.customers import TelegramProfile

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def customer_id(db, telegram_id: int = 5) -> int:
    async with db.session() as session:
        customer, _ = await customers.ensure_customer(
            session, profile=TelegramProfile(telegram_id), locale="en"
        )
        return customer.id


async def test_racing_hand_offs_open_one_conversation(db):
    owner = await customer_id(db)

    async def open_one():
        async with db.session() as session:
            handoff, created = await store.open_handoff(session, customer_id=owner, now=NOW)
            return handoff.id, created

    results = await asyncio.gather(*(open_one() for _ in range(10)))
    assert len({handoff_id for handoff_id, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1


async def test_racing_closes_close_once_and_a_new_conversation_can_open(db):
    owner = await customer_id(db)
    async with db.session() as session:
        first, _ = await store.open_handoff(session, customer_id=owner, now=NOW)
        await store.remember_relay(session, handoff_id=first.id, chat_id=-100, message_id=7, now=NOW)
        await store.remember_relay(session, handoff_id=first.id, chat_id=-100, message_id=7, now=NOW)

    async def close_one():
        async with db.session() as session:
            return await store.close_handoff(session, handoff_id=first.id, now=NOW, closed_by=1)

    assert sorted(await asyncio.gather(*(close_one() for _ in range(5)))) == [False] * 4 + [True]
    async with db.session() as session:
        second, created = await store.open_handoff(session, customer_id=owner, now=NOW)
        relayed = await store.handoff_of_relay(session, chat_id=-100, message_id=7)
        missing = await store.handoff_of_relay(session, chat_id=-100, message_id=8)
    assert created and second.id != first.id
    assert relayed.id == first.id and relayed.state == "closed" and missing is None
