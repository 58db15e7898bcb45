"""Shared steps for the referral tests: customers who started the bot (maybe through a link), their codes,
orders, the conversion sweep and what was stored."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from bot.context import BotContext
from bot.loyalty import purchases
from bot.referrals.jobs import sweep
from storage import referrals as store
from storage.customers import get_customer
from storage.models import Referral
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import ingest

RITA = TgUser(id=7001, first_name="Rita", language_code="en")  # the referrer
OMAR = TgUser(id=7002, first_name="عمر", language_code="ar")  # a second referrer
NEIL = TgUser(id=7003, first_name="Neil", language_code="en")  # new customers
NADA = TgUser(id=7004, first_name="ندى", language_code="ar")
WINDOW = timedelta(days=14)  # loyalty's default return window


def settings_of(harness):
    return harness.app.bot_data["settings"]


async def customer_of(harness, user: TgUser):
    async with harness.db.read_session() as session:
        return await get_customer(session, telegram_id=user.id)


async def start(harness, user: TgUser, payload: str | None = None) -> None:
    await harness.send(updates.command(user, f"/start {payload}" if payload else "/start"))


async def code_of(harness, user: TgUser) -> str:
    """The user asks for /referral; returns the code shown in the reply."""
    await harness.send(updates.command(user, "/referral"))
    found = re.search(
        r"Your code: <code>([A-Z0-9]+)</code>|رمزك: <code>([A-Z0-9]+)</code>", harness.last_text_to(user)
    )
    assert found, harness.last_text_to(user)
    return found.group(1) or found.group(2)


async def invite(harness, referrer: TgUser, referee: TgUser) -> str:
    """The referrer gets their code; the referee starts the bot through the link."""
    code = await code_of(harness, referrer)
    await start(harness, referee, f"ref_{code}")
    return code


async def buy(harness, user: TgUser, order_id: str, amount_minor: int, *, days_ago: float = 0):
    stored = await customer_of(harness, user)
    now = harness.clock.now()
    return await ingest(
        harness.db,
        settings_of(harness),
        order_id,
        amount_minor,
        now=now,
        customer_id=stored.id,
        ordered_at=now - timedelta(days=days_ago),
    )


async def refund(harness, order_id: str):
    async with harness.db.session() as session:
        return await purchases.reverse_order(
            session,
            settings=settings_of(harness),
            listeners=harness.app.bot_data["order_listeners"],
            now=harness.clock.now(),
            external_id=order_id,
        )


async def run_sweep(harness):
    return await sweep(BotContext(harness.app))


async def referrals(harness) -> list[Referral]:
    async with harness.db.read_session() as session:
        return list((await session.exec(select(Referral).order_by(Referral.id))).all())


async def stats(harness, user: TgUser):
    stored = await customer_of(harness, user)
    async with harness.db.read_session() as session:
        return await store.referrer_stats(session, referrer_id=stored.id)
