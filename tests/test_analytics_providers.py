"""Extension points: sections from the referrals and outreach features plug into /stats and --json once
their storage modules exist; concurrent orders keep the rollups exact."""

from __future__ import annotations

import asyncio
import sys
import types
from datetime import UTC, date

from bot.analytics import metrics
from bot.analytics.periods import Period
from storage.rollups import rebuild_rollups
from tests.analytics_support import at, customer, order, refund, rollup_snapshot
from tests.conftest import MERCHANT
from tests.fakes import updates

MARCH = Period(date(2026, 3, 1).toordinal(), date(2026, 4, 1).toordinal())


def fake_features(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    referrals = types.ModuleType("storage.referrals")
    outreach = types.ModuleType("storage.outreach_stats")

    async def referral_counts(session, *, start, end):
        calls.append(("referrals", start, end))
        return (10, 4) if start.month == 3 else (5, 1)

    async def top_referrers(session, *, start, end, limit):
        return [("Sami", 6, 3), ("Lina", 4, 1)][:limit]

    async def outreach_stats(session, *, start, end):
        return {"winback": (20, 5), "birthday": (8, 2)}

    referrals.referral_counts, referrals.top_referrers = referral_counts, top_referrers
    outreach.outreach_stats = outreach_stats
    monkeypatch.setitem(sys.modules, "storage.referrals", referrals)
    monkeypatch.setitem(sys.modules, "storage.outreach_stats", outreach)
    return calls


async def test_referral_and_outreach_sections_fill_in_when_their_features_exist(harness, monkeypatch):
    calls = fake_features(monkeypatch)
    await harness.send(updates.command(MERCHANT, "/stats 2026-03"))
    text = harness.last_text_to(MERCHANT)
    assert "Friends invited: <b>10</b> (+5)" in text and "Became customers: <b>4</b> (+3) (40.0%)" in text
    assert "Win-back sent: <b>20</b> (+0), followed by a purchase within 14 days: <b>25.0%</b>" in text
    assert "Birthday sent: <b>8</b> (+0)" in text
    assert calls[0] == ("referrals", at("2026-03-01 00:00"), at("2026-04-01 00:00"))
    await harness.send(updates.command(MERCHANT, "/stats top 2026-03"))
    assert "1. Sami: 6 invited, 3 became customers" in harness.last_text_to(MERCHANT)


async def test_sections_are_in_the_json_under_their_own_keys(db, monkeypatch):
    fake_features(monkeypatch)
    async with db.read_session() as session:
        report = await metrics.build_report(session, period=MARCH, churn_days=90, zone=UTC, exponent=2)
    document = report.as_json()
    assert document["referrals"] == {
        "invited": 10,
        "converted": 4,
        "conversion_rate": 40.0,
        "previous": {"invited": 5, "converted": 1, "conversion_rate": 20.0},
    }
    assert document["outreach"]["winback_share"] == 25.0 and document["outreach"]["birthday_sent"] == 8


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
