"""Telling customers about points: rendered in their language, never failing the caller."""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Bot
from telegram.error import TelegramError

from bot.i18n import Templates
from bot.loyalty.purchases import OrderOutcome, balance
from bot.settings import Settings
from storage.customers import get_customer_by_id
from storage.db import Database

logger = logging.getLogger(__name__)


async def tell_customer(
    bot: Bot,
    *,
    db: Database,
    templates: Templates,
    settings: Settings,
    now: datetime,
    customer_id: int,
    template: str,
    **values: object,
) -> bool:
    """Send `template` to the customer with their balance; False when they cannot be reached."""
    async with db.read_session() as session:
        customer = await get_customer_by_id(session, customer_id=customer_id)
        if customer is None or customer.telegram_id is None or not customer.reachable:
            return False
        current = await balance(session, settings=settings, customer_id=customer_id, now=now)
    text = templates.render(customer.locale, template, balance=current, **values)
    try:
        await bot.send_message(customer.telegram_id, text, parse_mode="HTML")
    except TelegramError as error:  # blocked, deleted, rate-limited beyond retries: the points stay
        logger.info("Could not tell customer %s about points: %s", customer_id, error)
        return False
    return True


async def tell_points_earned(
    bot: Bot, *, db: Database, templates: Templates, settings: Settings, now: datetime, outcome: OrderOutcome
) -> bool:
    if outcome.points <= 0 or outcome.customer_id is None:
        return False
    pending = outcome.available_at is not None and outcome.available_at > now
    return await tell_customer(
        bot,
        db=db,
        templates=templates,
        settings=settings,
        now=now,
        customer_id=outcome.customer_id,
        template="loyalty/points_earned.html",
        points=outcome.points,
        order_id=outcome.order.external_id,
        amount=outcome.order.amount_minor,
        pending=pending,
        available_on=outcome.available_at,
    )
