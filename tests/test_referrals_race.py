"""Races and the weekly cap, on SQLite and PostgreSQL: one referrer per referee, never more rewards than the
cap, one reward per referral however many sweeps run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from bot.referrals.jobs import convert
from bot.referrals.service import StartOutcome, attribute_on_start
from storage import referrals as store
from storage.customers import TelegramProfile, ensure_customer
from storage.models import PointsEntry
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import NOW, ingest
from tests.referrals_support import (
    NEIL,
    OMAR,
    RITA,
    buy,
    code_of,
    customer_of,
    referrals,
    run_sweep,
    settings_of,
    start,
)


async def test_two_referrers_racing_for_one_referee_attribute_once(harness):
    await start(harness, RITA)
    await start(harness, OMAR)
    rita_code, omar_code = await code_of(harness, RITA), await code_of(harness, OMAR)
    await asyncio.gather(start(harness, NEIL, f"ref_{rita_code}"), start(harness, NEIL, f"ref_{omar_code}"))
    (referral,) = await referrals(harness)
    assert referral.referee_id == (await customer_of(harness, NEIL)).id
    assert referral.referrer_id in {(await customer_of(harness, u)).id for u in (RITA, OMAR)}
    texts = harness.texts_to(NEIL)
    assert sum("You joined through" in t for t in texts) == 1
    assert sum("already joined through a friend's invitation" in t for t in texts) == 1


async def new_customer(db, telegram_id: int):
    async with db.session() as session:
        customer, _ = await ensure_customer(
            session, profile=TelegramProfile(telegram_id, first_name=f"C{telegram_id}"), locale="en"
        )
    return customer


async def test_ten_referrers_racing_at_the_store_leave_one_referral(db, settings):
    referee = await new_customer(db, 100)
    referrers = [await new_customer(db, 200 + n) for n in range(10)]
    codes = []
    for referrer in referrers:
        async with db.session() as session:
            codes.append(await store.ensure_referral_code(session, customer_id=referrer.id))

    async def attempt(code: str):
        async with db.session() as session:
            result = await attribute_on_start(
                session, settings=settings, now=NOW, customer=referee, created=True, payload=f"ref_{code}"
            )
        return result.outcome

    outcomes = await asyncio.gather(*(attempt(code) for code in codes))
    assert outcomes.count(StartOutcome.ATTRIBUTED) == 1
    assert outcomes.count(StartOutcome.REFERRED) == 9
    async with db.read_session() as session:
        assert (await store.referral_counts(session, start=NOW, end=NOW + timedelta(days=1))) == (1, 0)


async def pending_referrals(db, settings, count: int):
    """A referrer and `count` referees whose qualifying purchases are all past the return window."""
    referrer = await new_customer(db, 300)
    referral_ids = []
    for n in range(count):
        referee = await new_customer(db, 400 + n)
        async with db.session() as session:
            assert await store.attribute(
                session, referrer_id=referrer.id, referee_id=referee.id, now=NOW, min_order_minor=1000
            )
        await ingest(db, settings, f"o-{n}", 2000, customer_id=referee.id)
    async with db.read_session() as session:
        referral_ids = await store.due_referrals(session, now=NOW + timedelta(days=14), limit=100)
    assert len(referral_ids) == count
    return referrer, referral_ids


async def test_concurrent_conversions_never_exceed_the_weekly_cap(db, settings):
    referrer, referral_ids = await pending_referrals(db, settings, 14)
    later = NOW + timedelta(days=15)

    async def settle(referral_id: int):
        async with db.session() as session:
            return await convert(session, settings=settings, now=later, referral_id=referral_id)

    results = await asyncio.gather(*(settle(i) for i in referral_ids))
    assert sum(result.rewarded for result in results) == 10
    assert sum(not result.rewarded for result in results) == 4
    async with db.read_session() as session:
        entries = (
            await session.exec(
                select(PointsEntry).where(
                    PointsEntry.kind == "referral", PointsEntry.customer_id == referrer.id
                )
            )
        ).all()
        stats = await store.referrer_stats(session, referrer_id=referrer.id)
    assert len(entries) == 10 and sum(entry.delta for entry in entries) == 2000
    assert (stats.invited, stats.converted, stats.points) == (14, 14, 2000)


async def test_settling_the_same_referral_concurrently_rewards_once(db, settings):
    _, (referral_id,) = await pending_referrals(db, settings, 1)

    async def settle():
        async with db.session() as session:
            return await convert(
                session, settings=settings, now=NOW + timedelta(days=15), referral_id=referral_id
            )

    results = await asyncio.gather(*(settle() for _ in range(8)))
    assert sum(result is not None for result in results) == 1
    async with db.read_session() as session:
        entries = (await session.exec(select(PointsEntry).where(PointsEntry.kind == "referral"))).all()
    assert sorted(entry.delta for entry in entries) == [100, 200]


async def test_cap_counts_the_week_of_conversion_and_capped_ones_are_told(harness):
    harness.app.bot_data["settings"] = settings_of(harness).model_copy(update={"referral_weekly_cap": 2})
    await start(harness, RITA)
    code = await code_of(harness, RITA)
    friends = [TgUser(id=7100 + n, first_name=f"F{n}") for n in range(4)]
    for friend in friends:
        await start(harness, friend, f"ref_{code}")
    # The clock starts on Sunday 15 March; three purchases now clear on Sunday 29 March (one week) ...
    for n, friend in enumerate(friends[:3]):
        await buy(harness, friend, f"w-{n}", 1500)
    # ... the fourth a day later, on Monday 30 March: a new week.
    harness.clock.advance(days=1)
    await buy(harness, friends[3], "w-3", 1500)
    harness.clock.advance(days=14)
    outcomes = await run_sweep(harness)
    assert (outcomes["rewarded"], outcomes["capped"]) == (3, 1)
    stored = await referrals(harness)
    assert [r.rewarded for r in stored] == [True, True, False, True]
    assert stored[2].status == "converted" and stored[2].referrer_points == 0
    capped_notice = [t for t in harness.texts_to(RITA) if "this week's limit of 2" in t]
    assert len(capped_notice) == 1
    # Neither side of a capped referral is rewarded.
    assert not any("gift for joining" in t for t in harness.texts_to(friends[2]))


async def test_concurrent_sweeps_reward_and_notify_once(harness):
    await start(harness, RITA)
    code = await code_of(harness, RITA)
    await start(harness, NEIL, f"ref_{code}")
    await buy(harness, NEIL, "s-1", 1500)
    harness.clock.advance(days=14)
    results = await asyncio.gather(*(run_sweep(harness) for _ in range(4)))
    assert sum(result["rewarded"] for result in results) == 1
    assert sum("kept their first purchase" in t for t in harness.texts_to(RITA)) == 1
