"""Shared steps for the outreach tests: customers, orders, running the sweep and the outbox."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import select

from bot.outreach import jobs
from storage.customers import TelegramProfile, ensure_customer, get_customer
from storage.models import Customer, OutboxMessage, PointsEntry
from storage.orders import record_order
from tests.fakes import updates
from tests.fakes.updates import TgUser

SARA = TgUser(id=8101, first_name="Sara", language_code="en")
OMAR = TgUser(id=8102, first_name="عمر", language_code="ar")
NOOR = TgUser(id=8103, first_name="Noor", language_code="en")


async def started(harness, user: TgUser) -> int:
    await harness.send(updates.command(user, "/start"))
    async with harness.db.read_session() as session:
        return (await get_customer(session, telegram_id=user.id)).id


async def add_customer(db, telegram_id: int, *, locale: str = "en", birthday: date | None = None) -> int:
    """A customer straight in the store (faster than /start for many of them)."""
    async with db.session() as session:
        customer, _ = await ensure_customer(
            session, profile=TelegramProfile(telegram_id, first_name=f"C{telegram_id}"), locale=locale
        )
        if birthday is not None:
            customer.birthday = birthday
            session.add(customer)
        return customer.id


async def customer_of(harness, user: TgUser) -> Customer:
    async with harness.db.read_session() as session:
        return await get_customer(session, telegram_id=user.id)


async def order(db, customer_id: int, external_id: str, ordered_at: datetime, amount: int = 2000) -> int:
    async with db.session() as session:
        stored, _ = await record_order(
            session,
            external_id=external_id,
            amount_minor=amount,
            currency="USD",
            ordered_at=ordered_at,
            customer_id=customer_id,
        )
        return stored.id


async def outbox_rows(db, campaign: str | None = None) -> list[OutboxMessage]:
    async with db.read_session() as session:
        statement = select(OutboxMessage).order_by(OutboxMessage.id)
        if campaign is not None:
            statement = statement.where(OutboxMessage.campaign == campaign)
        return list((await session.exec(statement)).all())


async def ledger(db, customer_id: int, kind: str) -> list[PointsEntry]:
    async with db.read_session() as session:
        statement = select(PointsEntry).where(
            PointsEntry.customer_id == customer_id, PointsEntry.kind == kind
        )
        return list((await session.exec(statement)).all())


async def run(harness):
    """One campaign sweep followed by draining the outbox, as the JobQueue does."""
    queued = await jobs.sweep(harness.app)
    sent = await jobs.dispatch(harness.app)
    return queued, sent


def settings_of(harness):
    return harness.app.bot_data["settings"]


def texts(harness, user: TgUser | int, needle: str) -> list[str]:
    return [text for text in harness.texts_to(user) if needle in text]
