"""Loyalty membership: what joining the programme gives a customer (member code, welcome bonus, orders
waiting for them), run once by bot/customer_step.py when the customer joins, and the joined customer of an
update for loyalty's handlers."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import BotContext
from bot.loyalty import purchases
from bot.loyalty.notify import tell_points_earned
from storage.models import Customer


def member(context: BotContext) -> Customer:
    """The customer behind this update; loyalty's handlers join (`@handles(joins=True)`), so it is set."""
    customer = context.customer
    if customer is None:
        raise RuntimeError("a loyalty handler ran without its customer")
    return customer


async def welcome(context: BotContext, session: AsyncSession, customer: Customer) -> None:
    """Join listener: member code, the welcome bonus once, orders that were waiting for this customer;
    after the update, tell them of the points those orders earned (the welcome bonus shows in /balance)."""
    _, linked = await purchases.welcome_customer(
        session,
        settings=context.settings,
        now=context.clock.now(),
        customer=customer,
        fresh=context.uow.created,
    )
    if linked:
        context.uow.later(lambda: announce(context, linked))


async def announce(context: BotContext, linked: list) -> None:
    for outcome in linked:
        await tell_points_earned(
            context.bot,
            db=context.db,
            templates=context.templates,
            settings=context.settings,
            now=context.clock.now(),
            outcome=outcome,
        )
