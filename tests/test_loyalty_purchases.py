"""Purchase intake on both databases: idempotency, tiers, pending window, refunds, linking, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import order_listeners
from bot.loyalty import purchases
from bot.loyalty.expiry import record_expiries
from bot.loyalty.rewards import redeem
from bot.loyalty.rules import Reward
from storage import loyalty as store
from storage.customers import get_customer_by_id
from storage.models import OrderStatus, PointsEntry
from storage.orders import get_order
from tests.loyalty_helpers import NOW, balance, ingest, make_customer


async def test_order_awards_pending_points_once_then_they_become_available(db, settings):
    customer = await make_customer(db, settings, 101)
    assert (await balance(db, settings, customer.id)).available == 50  # welcome bonus
    first = await ingest(db, settings, "1001", 12_345, customer_id=customer.id)
    again = await ingest(db, settings, "1001", 12_345, customer_id=customer.id)
    assert (first.points, first.created, first.tier) == (123, True, "Bronze")
    assert (again.points, again.created) == (0, False)
    now = await balance(db, settings, customer.id)
    assert (now.available, now.pending) == (50, 123)
    later = await balance(db, settings, customer.id, NOW + timedelta(days=14))
    assert (later.available, later.pending) == (173, 0)


async def test_welcome_bonus_is_given_once(db, settings):
    customer = await make_customer(db, settings, 102)
    async with db.session() as session:
        fresh = await get_customer_by_id(session, customer_id=customer.id)
        bonus, _ = await purchases.welcome_customer(session, settings=settings, now=NOW, customer=fresh)
    assert bonus == 0 and (await balance(db, settings, customer.id)).available == 50
    assert fresh.member_code and store.MEMBER_CODE.match(fresh.member_code)


async def test_tier_multiplier_follows_rolling_twelve_month_spend(db, settings):
    customer = await make_customer(db, settings, 103)
    await ingest(db, settings, "old", 300_000, customer_id=customer.id, ordered_at=NOW - timedelta(days=400))
    bronze = await ingest(
        db, settings, "a", 10_000, customer_id=customer.id, ordered_at=NOW - timedelta(days=10)
    )
    await ingest(db, settings, "b", 50_000, customer_id=customer.id, ordered_at=NOW - timedelta(days=5))
    silver = await ingest(db, settings, "c", 10_000, customer_id=customer.id)
    assert (bronze.tier, bronze.points) == ("Bronze", 100)
    assert (silver.tier, silver.points) == ("Silver", 125)


async def test_refund_reverses_the_orders_points_once(db, settings):
    customer = await make_customer(db, settings, 104)
    await ingest(db, settings, "r1", 10_000, customer_id=customer.id)
    async with db.session() as session:
        first = await purchases.reverse_order(
            session, settings=settings, listeners=order_listeners(), now=NOW, external_id="r1"
        )
    async with db.session() as session:
        second = await purchases.reverse_order(
            session, settings=settings, listeners=order_listeners(), now=NOW, external_id="r1"
        )
    assert (first.changed, first.points) == (True, 100)
    assert (second.changed, second.points) == (False, 0)
    current = await balance(db, settings, customer.id)
    assert (current.available, current.pending) == (50, 0)
    async with db.read_session() as session:
        assert (await get_order(session, external_id="r1")).status == OrderStatus.REFUNDED


async def test_refund_after_points_were_spent_never_goes_below_zero(db, settings):
    customer = await make_customer(db, settings.model_copy(update={"loyalty_welcome_bonus": 0}), 105)
    await ingest(db, settings, "s1", 20_000, customer_id=customer.id, ordered_at=NOW - timedelta(days=20))
    async with db.session() as session:
        await redeem(
            session,
            settings=settings,
            now=NOW,
            customer_id=customer.id,
            reward=Reward("X", 150, "x"),
            key="k",
        )
    async with db.session() as session:
        outcome = await purchases.reverse_order(
            session, settings=settings, listeners=order_listeners(), now=NOW, external_id="s1"
        )
    assert outcome.points == 50
    current = await balance(db, settings, customer.id)
    assert (current.available, current.pending) == (0, 0)


async def test_unknown_customer_order_is_kept_and_linked_when_they_share_their_phone(db, settings):
    kept = await ingest(db, settings, "u1", 5_000, customer_ref="+966 50 123 4567")
    refunded = await ingest(db, settings, "u2", 5_000, customer_ref="+966501234567", status="refunded")
    assert kept.customer_id is None and kept.points == 0 and kept.order.customer_ref == "+966501234567"
    assert refunded.order.status == OrderStatus.REFUNDED
    customer = await make_customer(db, settings, 106)
    async with db.session() as session:
        fresh = await get_customer_by_id(session, customer_id=customer.id)
        await store.set_phone(session, customer=fresh, phone="+966501234567")
        linked = await purchases.link_customer(session, settings=settings, customer=fresh)
    assert [outcome.points for outcome in linked] == [50]
    async with db.session() as session:
        assert await purchases.link_customer(session, settings=settings, customer=fresh) == []
    assert (await balance(db, settings, customer.id)).pending == 50


async def test_order_named_by_telegram_id_is_linked_when_they_join(db, settings):
    await ingest(db, settings, "t1", 1_000, customer_ref="777")
    customer = await make_customer(db, settings, 777)
    assert (await balance(db, settings, customer.id)).pending == 10


async def test_orders_find_customers_by_member_code_phone_and_telegram_id(db, settings):
    customer = await make_customer(db, settings, 108, phone="+15551234567")
    by_code = await ingest(db, settings, "m1", 100, customer_ref=customer.member_code.lower())
    by_phone = await ingest(db, settings, "m2", 100, customer_ref="+1 (555) 123-4567")
    by_id = await ingest(db, settings, "m3", 100, customer_ref="108")
    assert {by_code.customer_id, by_phone.customer_id, by_id.customer_id} == {customer.id}


@pytest.mark.parametrize(
    ("amount", "delta", "currency", "reason"),
    [
        (-1, timedelta(0), "USD", "amount_negative"),
        (10**13, timedelta(0), "USD", "amount_too_large"),
        (100, timedelta(days=3), "USD", "date"),
        (100, timedelta(0), "EUR", "currency"),
    ],
)
async def test_bad_orders_are_refused_and_change_nothing(db, settings, amount, delta, currency, reason):
    customer = await make_customer(db, settings, 109)
    with pytest.raises(purchases.BadOrder, match=reason):
        await ingest(
            db, settings, "bad", amount, customer_id=customer.id, ordered_at=NOW + delta, currency=currency
        )
    async with db.read_session() as session:
        assert await get_order(session, external_id="bad") is None
    assert (await balance(db, settings, customer.id)).pending == 0


async def test_expiry_is_applied_when_enabled(db, settings):
    expiring = settings.model_copy(update={"loyalty_expiry_days": 30})
    customer = await make_customer(db, expiring, 110)
    assert (await balance(db, expiring, customer.id, NOW + timedelta(days=29))).available == 50
    assert (await balance(db, expiring, customer.id, NOW + timedelta(days=30))).available == 0
    assert (await balance(db, settings, customer.id, NOW + timedelta(days=30))).available == 50


async def test_expiry_job_records_expired_lots_once_without_changing_balances(db, settings):
    expiring = settings.model_copy(update={"loyalty_expiry_days": 30})
    customer = await make_customer(db, expiring, 111)
    later = NOW + timedelta(days=31)
    assert await record_expiries(db, settings, later) == 0  # expiry off: nothing to record
    assert await record_expiries(db, expiring, later) == 50
    assert await record_expiries(db, expiring, later) == 0
    assert (await balance(db, expiring, customer.id, later)).available == 0
    async with db.read_session() as session:
        kinds = (
            await session.exec(select(PointsEntry.kind).where(PointsEntry.customer_id == customer.id))
        ).all()
    assert sorted(kinds) == ["expire", "welcome"]


async def test_buying_keeps_points_from_expiring_after_inactivity(db, settings):
    expiring = settings.model_copy(update={"loyalty_expiry_days": 30})
    customer = await make_customer(db, expiring, 112)  # 50 welcome points on day 0
    day = NOW + timedelta(days=20)
    await ingest(db, expiring, "keep-alive", 1000, now=day, ordered_at=day, customer_id=customer.id)
    # Day 49: the welcome points are 49 days old, but the customer bought on day 20; the order's 10
    # points are available since day 34.
    assert (await balance(db, expiring, customer.id, NOW + timedelta(days=49))).available == 60
    assert (await balance(db, expiring, customer.id, NOW + timedelta(days=50))).available == 10
    assert (await balance(db, expiring, customer.id, NOW + timedelta(days=64))).available == 0
