"""Rollups kept in the order's transaction equal a rebuild from raw orders after a random mix of orders,
refunds and late links; the figures equal a brute-force reference; local days follow SHOP_TIMEZONE."""

from __future__ import annotations

import random
from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.analytics import metrics, views
from bot.analytics.periods import Period
from storage.loyalty import claim_unlinked_orders
from storage.models import Customer, Order
from storage.rollups import rebuild_rollups, set_rollup_timezone
from tests.analytics_support import RawOrder, at, customer, order, reference, refund, rollup_snapshot

START = at("2025-10-01 00:00")


@pytest.fixture
def riyadh():
    zone = ZoneInfo("Asia/Riyadh")
    set_rollup_timezone(zone)
    yield zone
    set_rollup_timezone(UTC)


async def random_shop(db, seed: int, *, orders: int = 120) -> None:
    rng = random.Random(seed)
    telegram_ids = list(range(500, 512))
    ids = {t: await customer(db, t) for t in telegram_ids}
    placed: list[str] = []
    for n in range(orders):
        roll = rng.random()
        when = START + timedelta(minutes=rng.randrange(0, 200 * 24 * 60))
        telegram_id = rng.choice(telegram_ids)
        if roll < 0.7:
            await order(db, f"o{n}", ids[telegram_id], when, rng.randrange(100, 10000))
            placed.append(f"o{n}")
        elif roll < 0.85:  # named by Telegram id only: linked later
            await order(db, f"o{n}", None, when, rng.randrange(100, 10000), customer_ref=str(telegram_id))
            placed.append(f"o{n}")
        elif roll < 0.95 and placed:
            await refund(db, rng.choice(placed), when)
        else:
            async with db.session() as session:
                row = await session.get(Customer, ids[telegram_id])
                await claim_unlinked_orders(session, customer=row)


async def raw_orders(db) -> list[RawOrder]:
    async with db.read_session() as session:
        rows = (await session.exec(select(Order))).all()
    return [RawOrder(o.customer_id, o.ordered_at, o.amount_minor, o.status == "paid") for o in rows]


@pytest.mark.parametrize("seed", [1, 2])
async def test_rollups_equal_a_rebuild_after_a_random_mix(db, seed):
    await random_shop(db, seed)
    kept = await rollup_snapshot(db)
    assert kept["analytics_customer_days"], "the mix produced linked orders"
    async with db.session() as session:
        await rebuild_rollups(session)
    assert await rollup_snapshot(db) == kept


@pytest.mark.parametrize("window", [7, 30, 90])
async def test_figures_equal_a_brute_force_reference(db, window):
    await random_shop(db, window, orders=150)
    raw = await raw_orders(db)
    rng = random.Random(window)
    for _ in range(6):
        first = date(2025, 10, 1) + timedelta(days=rng.randrange(0, 200))
        last = first + timedelta(days=rng.choice([0, 6, 29, 89, 120]))
        period = Period(first.toordinal(), last.toordinal() + 1)
        async with db.read_session() as session:
            got = await metrics.figures(session, period=period, churn_days=window, zone=UTC, exponent=2)
        expected = reference(raw, start=first, end=last + timedelta(days=1), window=window)
        for key, value in expected.items():
            assert got[key] == pytest.approx(value), (key, first, last)


async def test_local_days_and_cohorts_follow_the_shop_time_zone(db, riyadh):
    who = await customer(db, 1)
    # 22:00 UTC on 28 February is 01:00 on 1 March in Riyadh.
    await order(db, "late", who, at("2026-02-28 22:00"), 1000)
    march = Period(date(2026, 3, 1).toordinal(), date(2026, 4, 1).toordinal())
    async with db.read_session() as session:
        got = await metrics.figures(session, period=march, churn_days=90, zone=riyadh, exponent=2)
    assert got["orders"] == 1 and got["new_customers"] == 1
    expected = reference(
        await raw_orders(db), start=date(2026, 3, 1), end=date(2026, 4, 1), window=90, zone=riyadh
    )
    assert got["orders"] == expected["orders"]


async def test_cohorts_count_customers_by_months_since_their_first_order(db, settings):
    a, b, c = [await customer(db, n) for n in (1, 2, 3)]
    for external_id, who, when in [
        ("a1", a, "2026-01-05"),
        ("a2", a, "2026-02-07"),
        ("a3", a, "2026-03-09"),
        ("b1", b, "2026-01-20"),
        ("b2", b, "2026-03-02"),
        ("c1", c, "2026-02-14"),
    ]:
        await order(db, external_id, who, at(f"{when} 12:00"), 500)
    async with db.read_session() as session:
        data = await views.cohorts(session, settings=settings, now=at("2026-03-15 12:00"))
    assert data.labels == ["2026-01", "2026-02"] and data.sizes == [2, 1]
    assert data.grid == [[100.0, 50.0, 100.0], [100.0, 0.0]]
    table = data.table("cohort", "size").splitlines()
    assert table[1].split() == ["2026-01", "2", "100", "50", "100"]
    await refund(db, "a1", at("2026-01-06 12:00"))  # a's first order is now February's
    async with db.read_session() as session:
        data = await views.cohorts(session, settings=settings, now=at("2026-03-15 12:00"))
    assert data.sizes == [1, 2] and data.grid == [[100.0, 0.0, 100.0], [100.0, 50.0]]
