"""Every /stats figure on a small shop computed by hand (CHURN_DAYS = 30, March 2026 against the 31 days
before), period edges, an empty shop, refunds, and a long period where customers lapse mid-way."""

from __future__ import annotations

import math
from datetime import UTC, date

import pytest
from sqlalchemy import update

from bot.analytics import metrics
from bot.analytics.periods import Period, parse_period
from storage.models import PointsEntry, SurveyResponse
from storage.points import add_points
from tests.analytics_support import at, customer, order, refund

MARCH = Period(date(2026, 3, 1).toordinal(), date(2026, 4, 1).toordinal())


async def report(db, period=MARCH, window=30):
    async with db.read_session() as session:
        return await metrics.build_report(session, period=period, churn_days=window, zone=UTC, exponent=2)


async def hand_shop(db) -> dict[str, int]:
    """Customers A..H; amounts in cents. See the comments for who is active, new and lost."""
    ids = {name: await customer(db, 100 + i) for i, name in enumerate("ABCDEFGH")}
    rows = [
        ("a1", "A", "2026-02-10 09:00", 10000),  # A: active at 1 March, buys twice in March
        ("a2", "A", "2026-03-05 09:00", 5000),
        ("a3", "A", "2026-03-20 09:00", 3000),
        ("b1", "B", "2026-02-15 09:00", 20000),  # B: active at 1 March, then lost
        ("c1", "C", "2026-03-10 09:00", 8000),  # C: new in March
        ("d1", "D", "2026-01-05 09:00", 4000),  # D: lapsed before March, comes back (not new)
        ("d2", "D", "2026-03-25 09:00", 6000),
        ("e1", "E", "2026-02-20 09:00", 10000),  # E: first order refunded, so new in March
        ("e2", "E", "2026-03-15 09:00", 7000),
        ("f1", "F", "2026-03-03 09:00", 1000),  # F: new, two orders on one day
        ("f2", "F", "2026-03-03 18:00", 2000),
        ("g1", "G", "2026-01-31 09:00", 9000),  # G: active at 1 March (30-day window), then lost
        ("h1", "H", "2026-03-31 23:59:59", 2500),  # H: new on the last second of March
        ("h2", "H", "2026-04-01 00:00", 99900),  # ... and this one is April's
        ("x1", None, "2026-03-12 09:00", 50000),  # not linked to a customer: not counted
    ]
    for external_id, name, when, amount in rows:
        await order(db, external_id, ids[name] if name else None, at(when), amount, customer_ref="unknown")
    await refund(db, "e1", at("2026-02-25 09:00"))
    return ids


async def test_every_figure_of_a_hand_computed_month(db):
    await hand_shop(db)
    result = await report(db)
    now = result.current
    assert (now["active_start"], now["active_end"], now["new_customers"], now["lost_customers"]) == (
        3,
        6,
        4,
        2,
    )
    assert now["retention_rate"] == pytest.approx((6 - 4) / 3 * 100)
    assert now["churn_rate"] == pytest.approx(2 / 3 * 100)
    assert (now["buyers"], now["repeat_buyers"]) == (6, 2)
    assert now["repeat_purchase_rate"] == pytest.approx(2 / 6 * 100)
    assert now["orders"] == 8 and now["revenue"] == pytest.approx(345.0)
    assert now["average_order_value"] == pytest.approx(345 / 8)
    assert now["purchase_frequency"] == pytest.approx(8 / 6)
    per_year = 365 / 31
    lifespan = 1 / (1 - (1 / 3) ** per_year)
    assert now["clv"] == pytest.approx(345 / 8 * 8 / 6 * per_year * lifespan)
    assert now["customers_total"] == 8
    before = result.previous
    assert (before["active_start"], before["active_end"], before["new_customers"]) == (1, 3, 3)
    assert before["lost_customers"] == 1 and before["churn_rate"] == pytest.approx(100.0)
    assert before["retention_rate"] == pytest.approx(0.0)
    assert (before["orders"], before["revenue"], before["customers_total"]) == (3, 390.0, 4)
    assert result.change("customers_total") == 4 and result.change("orders") == 5
    assert result.change("revenue") == pytest.approx(-45.0)
    assert result.change("churn_rate") == pytest.approx(2 / 3 * 100 - 100)


async def test_survey_scores_use_the_shared_formulas_and_count_responses(db):
    answers = [("nps", s, "2026-03-02") for s in (10, 9, 7, 3)] + [("nps", 0, "2026-04-01")]
    answers += [("csat", s, "2026-03-09") for s in (5, 4, 2)] + [
        ("ces", s, "2026-03-31 23:00") for s in (7, 5)
    ]
    async with db.session() as session:
        for kind, score, when in answers:
            session.add(SurveyResponse(kind=kind, score=score, answered_at=at(when)))
    now = (await report(db)).current
    assert (now["nps"], now["nps_responses"]) == (pytest.approx(25.0), 4)
    assert (now["csat"], now["csat_responses"]) == (pytest.approx(200 / 3), 3)
    assert (now["ces"], now["ces_responses"]) == (pytest.approx(12 / 2 / 7 * 100), 2)


async def test_an_empty_shop_has_zero_counts_and_no_rates(db):
    result = await report(db)
    document = result.as_json()
    for key in ("customers_total", "new_customers", "active_start", "active_end", "orders", "revenue"):
        assert document[key] == 0, key
    for key in ("retention_rate", "churn_rate", "repeat_purchase_rate", "purchase_frequency"):
        assert document[key] is None, key
    for key in ("average_order_value", "clv", "nps", "csat", "ces"):
        assert document[key] is None, key
    assert document["change"]["orders"] == 0 and document["change"]["nps"] is None
    assert document["referrals"]["invited"] == 0 and document["referrals"]["conversion_rate"] is None
    assert document["outreach"]["winback_sent"] == 0 and document["outreach"]["winback_share"] is None


async def test_a_refund_takes_the_order_out_of_every_figure(db):
    ids = await hand_shop(db)
    await refund(db, "c1", at("2026-03-12 09:00"))  # C's only order: no longer a customer at all
    now = (await report(db)).current
    assert now["orders"] == 7 and now["revenue"] == pytest.approx(265.0)
    assert (now["new_customers"], now["active_end"], now["buyers"], now["customers_total"]) == (3, 5, 5, 7)
    await refund(db, "a2", at("2026-03-21 09:00"))  # A now bought once in March
    now = (await report(db)).current
    assert now["repeat_buyers"] == 1 and now["orders"] == 6
    assert ids["A"] != ids["C"]


async def test_period_edges_follow_local_midnights(db):
    await hand_shop(db)
    april = (await report(db, Period(date(2026, 4, 1).toordinal(), date(2026, 5, 1).toordinal()))).current
    assert april["orders"] == 1 and april["revenue"] == pytest.approx(999.0)
    one_day = (await report(db, Period(date(2026, 3, 31).toordinal(), date(2026, 4, 1).toordinal()))).current
    assert one_day["orders"] == 1 and one_day["new_customers"] == 1


async def test_lapsing_during_a_period_longer_than_the_window(db):
    x, y, z, w = [await customer(db, n) for n in (1, 2, 3, 4)]
    for external_id, who, when in [
        ("x1", x, "2025-12-20"),  # active at 1 Jan, buys in January, lapsed by the end: lost
        ("x2", x, "2026-01-15"),
        ("y1", y, "2025-12-25"),  # active at 1 Jan and again at the end: kept
        ("y2", y, "2026-03-10"),
        ("z1", z, "2025-12-10"),  # active at 1 Jan, never again: lost
        ("w1", w, "2025-11-01"),  # not active at 1 Jan, buys in January: not in S
        ("w2", w, "2026-01-10"),
    ]:
        await order(db, external_id, who, at(f"{when} 12:00"), 1000)
    quarter = parse_period("2026-01-01..2026-03-31", today=date(2026, 4, 5))
    now = (await report(db, quarter)).current
    assert (now["active_start"], now["active_end"], now["lost_customers"]) == (3, 1, 2)
    assert now["churn_rate"] == pytest.approx(2 / 3 * 100)
    assert now["retention_rate"] == pytest.approx((1 - 0) / 3 * 100)


async def test_points_section_counts_the_ledger(db):
    who = await customer(db, 5)
    async with db.session() as session:
        for key, delta, kind in [
            ("w", 50, "welcome"),
            ("o", 30, "earn"),
            ("r", -40, "redeem"),
            ("old", 7, "earn"),
        ]:
            await add_points(
                session, customer_id=who, delta=delta, kind=kind, key=key, available_at=at("2026-03-02")
            )
        for key, when in [
            ("w", "2026-03-02"),
            ("o", "2026-03-03"),
            ("r", "2026-03-04"),
            ("old", "2026-01-01"),
        ]:
            await session.execute(
                update(PointsEntry).where(PointsEntry.idempotency_key == key).values(created_at=at(when))
            )
    result = await report(db)
    (points, _), *_ = result.sections
    assert points.key == "points"
    assert points.data == {"issued": 80, "redeemed": 40, "outstanding": 47}
    assert result.as_json()["points"]["previous"] == {"issued": 0, "redeemed": 0, "outstanding": 7}


def test_clv_needs_churn():
    assert metrics.clv(10.0, 2.0, 0.0, 30) is None
    assert metrics.clv(None, 2.0, 10.0, 30) is None
    assert math.isclose(metrics.clv(10.0, 1.0, 100.0, 365), 10.0)
