"""Shared set-up for the loyalty tests: customers in the store and one-call order intake."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import order_listeners
from bot.loyalty import purchases
from storage.customers import TelegramProfile, ensure_customer

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # the harness FakeClock's start


async def make_customer(db, settings, telegram_id: int, *, phone: str | None = None, locale: str = "en"):
    async with db.session() as session:
        customer, _ = await ensure_customer(
            session, profile=TelegramProfile(telegram_id, first_name=f"C{telegram_id}"), locale=locale
        )
        if phone:
            customer.phone = phone
            session.add(customer)
        await purchases.welcome_customer(session, settings=settings, now=NOW, customer=customer)
    return customer


async def ingest(db, settings, order_id: str, amount_minor: int, *, now=NOW, ordered_at=None, **kwargs):
    kwargs.setdefault("listeners", order_listeners())
    async with db.session() as session:
        return await purchases.ingest_order(
            session,
            settings=settings,
            now=now,
            external_id=order_id,
            amount_minor=amount_minor,
            ordered_at=ordered_at or now,
            **kwargs,
        )


async def balance(db, settings, customer_id: int, now=NOW):
    async with db.read_session() as session:
        return await purchases.balance(session, settings=settings, customer_id=customer_id, now=now)
