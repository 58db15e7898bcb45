"""Races on both databases: no double spend, no double award, no negative balance."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.app import order_listeners
from bot.loyalty import purchases
from bot.loyalty.rewards import NotEnoughPoints, redeem
from bot.loyalty.rules import Reward
from storage.models import Coupon, PointsEntry
from tests.loyalty_helpers import NOW, balance, ingest, make_customer

REWARD = Reward("GIFT", 100, "Gift card")


async def test_fifty_concurrent_redemptions_of_the_whole_balance_succeed_once(db, settings):
    hundred = settings.model_copy(update={"loyalty_welcome_bonus": 100})
    customer = await make_customer(db, hundred, 201)

    async def attempt(n: int) -> str:
        try:
            async with db.session() as session:
                coupon, _ = await redeem(
                    session, settings=hundred, now=NOW, customer_id=customer.id, reward=REWARD, key=f"tap{n}"
                )
            return coupon.code
        except NotEnoughPoints:
            return "refused"

    results = await asyncio.gather(*(attempt(n) for n in range(50)))
    assert len([r for r in results if r != "refused"]) == 1
    current = await balance(db, hundred, customer.id)
    assert (current.available, current.pending) == (0, 0)
    async with db.read_session() as session:
        coupons = (await session.exec(select(Coupon).where(Coupon.customer_id == customer.id))).all()
    assert len(coupons) == 1


async def test_double_tap_on_one_confirmation_returns_the_same_coupon(db, settings):
    customer = await make_customer(db, settings.model_copy(update={"loyalty_welcome_bonus": 250}), 202)

    async def tap():
        async with db.session() as session:
            return await redeem(
                session, settings=settings, now=NOW, customer_id=customer.id, reward=REWARD, key="same"
            )

    (first, _), (second, _) = await asyncio.gather(tap(), tap())
    assert first.code == second.code
    assert (await balance(db, settings, customer.id)).available == 150


async def test_concurrent_deliveries_of_one_order_award_once(db, settings):
    customer = await make_customer(db, settings, 203)
    outcomes = await asyncio.gather(
        *(ingest(db, settings, "dup-1", 10_000, customer_id=customer.id) for _ in range(20))
    )
    assert sum(outcome.created for outcome in outcomes) == 1
    assert sum(outcome.points for outcome in outcomes) == 100
    async with db.read_session() as session:
        earns = (await session.exec(select(PointsEntry).where(PointsEntry.kind == "earn"))).all()
    assert len(earns) == 1


async def test_concurrent_refunds_reverse_once(db, settings):
    customer = await make_customer(db, settings, 204)
    await ingest(db, settings, "ref-1", 10_000, customer_id=customer.id)

    async def refund():
        async with db.session() as session:
            return await purchases.reverse_order(
                session, settings=settings, listeners=order_listeners(), now=NOW, external_id="ref-1"
            )

    outcomes = await asyncio.gather(*(refund() for _ in range(10)))
    assert sum(outcome.points for outcome in outcomes) == 100
    current = await balance(db, settings, customer.id)
    assert (current.available, current.pending) == (50, 0)
