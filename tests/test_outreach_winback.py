"""Win-back: staged messages when a customer is past their own rhythm, stopped by a purchase, with the
conversions analytics reads through outreach_stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.loyalty.purchases import ingest_order
from bot.outreach import jobs
from storage.outreach_stats import outreach_stats
from tests.outreach_support import add_customer, order, outbox_rows, run, settings_of, texts

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)
MISS = "We miss you"
COUPON = "welcome you back"
LAST = "Last chance"


async def test_one_time_buyer_gets_three_stages_a_week_apart(harness):
    customer_id = await add_customer(harness.db, 8301)
    await order(harness.db, customer_id, "W-1", T0)
    harness.clock.set(T0 + timedelta(days=59))
    await run(harness)
    assert harness.texts_to(8301) == []
    harness.clock.set(T0 + timedelta(days=60, hours=1))
    await run(harness)
    assert len(texts(harness, 8301, MISS)) == 1
    harness.clock.advance(days=6)
    await run(harness)
    assert texts(harness, 8301, COUPON) == []
    harness.clock.advance(days=1, hours=1)
    await run(harness)
    (coupon,) = texts(harness, 8301, COUPON)
    assert "10% off your next order" in coupon
    code = coupon.split("<code>")[1].split("</code>")[0]
    assert code.startswith("W")
    harness.clock.advance(days=7, hours=1)
    await run(harness)
    (last,) = texts(harness, 8301, LAST)
    assert code in last
    harness.clock.advance(days=30)
    await run(harness)
    assert len(harness.texts_to(8301)) == 3
    stages = [row.occurrence.split(":")[1] for row in await outbox_rows(harness.db, "winback")]
    assert stages == ["1", "2", "3"]


async def test_regular_customer_lapses_after_twice_their_median_gap(harness):
    customer_id = await add_customer(harness.db, 8302)
    for number, day in enumerate((0, 20, 40)):
        await order(harness.db, customer_id, f"R-{number}", T0 + timedelta(days=day))
    last = T0 + timedelta(days=40)
    harness.clock.set(last + timedelta(days=39))
    await run(harness)
    assert harness.texts_to(8302) == []
    harness.clock.set(last + timedelta(days=40, hours=1))
    await run(harness)
    assert len(texts(harness, 8302, MISS)) == 1


async def test_a_purchase_stops_the_sequence_and_counts_as_a_conversion(harness):
    settings = settings_of(harness)
    customer_id = await add_customer(harness.db, 8303)
    await order(harness.db, customer_id, "P-1", T0)
    harness.clock.set(T0 + timedelta(days=61))
    await run(harness)
    assert len(texts(harness, 8303, MISS)) == 1
    bought = harness.clock.advance(days=5)
    async with harness.db.session() as session:
        await ingest_order(
            session,
            settings=settings,
            listeners=harness.app.bot_data["order_listeners"],
            now=bought,
            external_id="P-2",
            amount_minor=3000,
            ordered_at=bought,
            customer_id=customer_id,
        )
    for _ in range(4):
        harness.clock.advance(days=7)
        await run(harness)
    assert len(harness.texts_to(8303)) == 1
    (sent,) = await outbox_rows(harness.db, "winback")
    assert sent.converted_at == bought
    async with harness.db.read_session() as session:
        stats = await outreach_stats(session, start=T0, end=bought)
    assert stats == {"winback": (1, 1), "birthday": (0, 0)}


async def test_pending_stage_is_cancelled_by_a_purchase(harness):
    customer_id = await add_customer(harness.db, 8304)
    await order(harness.db, customer_id, "C-1", T0)
    harness.clock.set(T0 + timedelta(days=61, hours=10))  # 22:00 UTC: quiet hours, the message waits

    await jobs.sweep(harness.app)
    await jobs.dispatch(harness.app)
    assert harness.texts_to(8304) == []
    bought = harness.clock.now()
    async with harness.db.session() as session:
        await ingest_order(
            session,
            settings=settings_of(harness),
            listeners=harness.app.bot_data["order_listeners"],
            now=bought,
            external_id="C-2",
            amount_minor=1000,
            ordered_at=bought,
            customer_id=customer_id,
        )
    harness.clock.advance(hours=12)
    await run(harness)
    assert harness.texts_to(8304) == []
    (row,) = await outbox_rows(harness.db, "winback")
    assert (row.state, row.outcome) == ("cancelled", "purchased")


async def test_lost_customers_get_no_winback(harness):
    customer_id = await add_customer(harness.db, 8305)
    await order(harness.db, customer_id, "L-1", T0 - timedelta(days=400))
    harness.clock.set(T0)
    await run(harness)
    assert harness.texts_to(8305) == []


async def test_outreach_stats_counts_sent_messages_and_purchases_within_14_days(harness):
    first = await add_customer(harness.db, 8306)
    second = await add_customer(harness.db, 8307)
    await order(harness.db, first, "S-1", T0)
    await order(harness.db, second, "S-2", T0)
    harness.clock.set(T0 + timedelta(days=61))
    await run(harness)
    sent_at = harness.clock.now()
    await order(harness.db, first, "S-3", sent_at + timedelta(days=13))  # within 14 days
    await order(harness.db, second, "S-4", sent_at + timedelta(days=15))  # too late
    async with harness.db.read_session() as session:
        stats = await outreach_stats(session, start=sent_at, end=sent_at + timedelta(days=1))
        before = await outreach_stats(session, start=T0, end=sent_at)
    assert stats["winback"] == (2, 1) and stats["birthday"] == (0, 0)
    assert before["winback"] == (0, 0)
    harness.clock.advance(days=16)
    await run(harness)  # the sweep stamps the conversion of orders recorded without the listener
    rows = {row.customer_id: row for row in await outbox_rows(harness.db, "winback") if row.state == "sent"}
    assert rows[first].converted_at == sent_at + timedelta(days=13)
