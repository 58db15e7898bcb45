"""The referrals and outreach sections of /stats and --json, read from those features' real tables; the
merchant's top-referrers view; concurrent orders keep the rollups exact."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from bot.analytics import metrics
from bot.analytics.periods import Period
from storage import referrals as referral_store
from storage.models import OutboxMessage, OutboxState, ReferralStatus
from storage.rollups import rebuild_rollups
from tests.analytics_support import at, customer, order, refund, rollup_snapshot
from tests.conftest import MERCHANT
from tests.fakes import updates

MARCH = Period(date(2026, 3, 1).toordinal(), date(2026, 4, 1).toordinal())


async def referral(db, referrer: int, referee: int, *, invited: datetime, converted: datetime | None = None):
    async with db.session() as session:
        assert await referral_store.attribute(
            session, referrer_id=referrer, referee_id=referee, now=invited, min_order_minor=0
        )
        if converted is not None:
            row = await referral_store.referral_of(session, referee_id=referee)
            row.status, row.converted_at, row.qualifies_at = ReferralStatus.CONVERTED, converted, converted
            row.rewarded, row.referrer_points = True, 200
            session.add(row)


async def sent(db, customer_id: int, campaign: str, when: datetime) -> None:
    async with db.session() as session:
        session.add(
            OutboxMessage(
                customer_id=customer_id,
                campaign=campaign,
                occurrence=when.isoformat(),
                state=OutboxState.SENT,
                due_at=when,
                sent_at=when,
            )
        )


async def shop_with_referrals_and_outreach(db) -> None:
    """Sami invites 3 in March (2 convert) and 1 in February; Lina 1 in March. Win-back to 4 customers in
    March, one of whom orders 5 days later; a birthday greeting to 2, nobody orders."""
    sami, lina = await customer(db, 1), await customer(db, 2)
    friends = [await customer(db, 10 + n) for n in range(5)]
    await referral(db, sami, friends[0], invited=at("2026-02-20 10:00"))
    await referral(db, sami, friends[1], invited=at("2026-03-02 10:00"), converted=at("2026-03-20 10:00"))
    await referral(db, sami, friends[2], invited=at("2026-03-03 10:00"), converted=at("2026-03-21 10:00"))
    await referral(db, sami, friends[3], invited=at("2026-03-04 10:00"))
    await referral(db, lina, friends[4], invited=at("2026-03-05 10:00"))
    lapsed = [await customer(db, 30 + n) for n in range(4)]
    for n, customer_id in enumerate(lapsed):
        await sent(db, customer_id, "winback", at(f"2026-03-1{n} 10:00"))
    await order(db, "wb-1", lapsed[0], at("2026-03-15 10:00"), 2000)
    await sent(db, sami, "birthday", at("2026-03-08 10:00"))
    await sent(db, lina, "birthday", at("2026-03-09 10:00"))


async def test_referral_and_outreach_sections_in_stats(harness):
    await shop_with_referrals_and_outreach(harness.db)
    await harness.send(updates.command(MERCHANT, "/stats 2026-03"))
    text = harness.last_text_to(MERCHANT)
    assert "Friends invited: <b>4</b> (+3)" in text and "Became customers: <b>2</b> (+2) (50.0%)" in text
    assert "Win-back sent: <b>4</b> (+4), followed by a purchase within 14 days: <b>25.0%</b>" in text
    assert "Birthday sent: <b>2</b> (+2), followed by a purchase within 14 days: <b>0.0%</b>" in text


async def test_top_referrers_in_a_period(harness):
    await shop_with_referrals_and_outreach(harness.db)
    await harness.send(updates.command(MERCHANT, "/stats top 2026-03"))
    text = harness.last_text_to(MERCHANT)
    assert "1. C1: 3 invited, 2 became customers, 400 points earned" in text
    assert "2. C2: 1 invited, 0 became customers, 0 points earned" in text
    await harness.send(updates.command(MERCHANT, "/stats top 2026-01"))
    assert "Nobody invited a friend in this period." in harness.last_text_to(MERCHANT)


async def test_sections_are_in_the_json_under_their_own_keys(db):
    await shop_with_referrals_and_outreach(db)
    async with db.read_session() as session:
        report = await metrics.build_report(session, period=MARCH, churn_days=90, zone=UTC, exponent=2)
    document = report.as_json()
    assert document["referrals"] == {
        "invited": 4,
        "converted": 2,
        "conversion_rate": 50.0,
        "previous": {"invited": 1, "converted": 0, "conversion_rate": 0.0},
    }
    assert document["outreach"]["winback_sent"] == 4 and document["outreach"]["winback_share"] == 25.0
    assert document["outreach"]["birthday_sent"] == 2 and document["outreach"]["birthday_followed"] == 0


async def test_concurrent_orders_and_refunds_keep_the_rollups_exact(db):
    ids = [await customer(db, n) for n in (1, 2, 3)]
    await asyncio.gather(
        *(order(db, f"c{n}", ids[n % 3], at(f"2026-03-{n % 5 + 1:02d} 10:00"), 100 + n) for n in range(24))
    )
    await asyncio.gather(
        *(refund(db, f"c{n}", at("2026-03-20 10:00")) for n in range(0, 24, 2)),
        *(order(db, f"d{n}", ids[n % 3], at(f"2026-03-{n % 5 + 3:02d} 10:00"), 50) for n in range(12)),
    )
    kept = await rollup_snapshot(db)
    assert sum(row[1] for row in kept["analytics_days"]) == 24
    async with db.session() as session:
        await rebuild_rollups(session)
    assert await rollup_snapshot(db) == kept
