"""/stats, /stats chart, /stats top, /cohort and /export through the fake Bot API, and the CLI commands."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json

from bot import cli
from bot.analytics import handlers as analytics
from storage.db import Database
from storage.models import SurveyResponse
from tests.analytics_support import at, customer, order, refund, rollup_snapshot
from tests.conftest import MERCHANT, _truncate_all
from tests.fakes import updates
from tests.fakes.updates import TgUser

SAMI = TgUser(id=4242, first_name="Sami", language_code="ar")
ARABIC_MERCHANT = TgUser(id=MERCHANT.id, first_name="Mona", language_code="ar")


async def small_shop(db) -> None:
    a, b = await customer(db, 11), await customer(db, 12)
    await order(db, "a1", a, at("2026-02-20 10:00"), 1000)
    await order(db, "a2", a, at("2026-03-05 10:00"), 3000)
    await order(db, "b1", b, at("2026-03-06 10:00"), 2000)
    await order(db, "b2", b, at("2026-03-07 10:00"), 500)
    await refund(db, "b2", at("2026-03-08 10:00"))
    async with db.session() as session:
        session.add(
            SurveyResponse(kind="nps", score=10, reason="=cmd|' /C calc'!A0", answered_at=at("2026-03-09"))
        )


async def test_stats_shows_the_figures_with_their_changes(harness):
    await small_shop(harness.db)
    await harness.send(updates.command(MERCHANT, "/stats 2026-03"))
    text = harness.last_text_to(MERCHANT)
    assert "<b>Statistics</b> Mar 1, 2026 – Mar 31, 2026" in text
    assert "Orders: <b>2</b> (+1)" in text
    assert "Revenue: <b>50.00</b> (+40.00) USD" in text
    assert "New: <b>1</b> (−0)" in text or "New: <b>1</b> (+0)" in text
    assert "NPS: <b>100.0</b> (1 response)" in text
    assert "CSAT: <i>no data</i>" in text
    assert "<b>Referrals</b>" in text and "Friends invited: <b>0</b> (+0)" in text
    assert "Win-back sent: <b>0</b> (+0), followed by a purchase within 14 days: <i>no data</i>" in text


async def test_stats_default_period_is_the_last_30_days(harness):
    await small_shop(harness.db)
    await harness.send(updates.command(MERCHANT, "/stats"))
    assert "Feb 14, 2026 – Mar 15, 2026" in harness.last_text_to(MERCHANT)


async def test_stats_in_arabic_isolates_values(harness):
    await small_shop(harness.db)
    await harness.send(updates.command(ARABIC_MERCHANT, "/stats 7d"))
    text = harness.last_text_to(MERCHANT)
    assert "الإحصاءات" in text and "\u20689 مارس 2026\u2069" in text
    assert "الطلبات: <b>\u20680\u2069</b> (\u2068\u22122\u2069)" in text


async def test_bad_period_gets_the_usage_and_customers_are_refused(harness):
    await harness.send(updates.command(MERCHANT, "/stats last-week"))
    assert "I don't understand the period <code>last-week</code>" in harness.last_text_to(MERCHANT)
    await harness.send(updates.command(MERCHANT, "/stats 2026-02-30..2026-03-01"))
    assert "Usage" in harness.last_text_to(MERCHANT)
    await harness.send(updates.command(ARABIC_MERCHANT, "/stats 2026-13"))
    assert "لم أفهم الفترة" in harness.last_text_to(MERCHANT)
    for command in ("/stats", "/cohort", "/export", "/stats chart"):
        await harness.send(updates.command(SAMI, command))
        assert "فريق المتجر" in harness.last_text_to(SAMI) or "shop team" in harness.last_text_to(SAMI)
    assert harness.api.sent("sendDocument") == [] and harness.api.sent("sendPhoto") == []


async def test_chart_and_cohort_send_png_images(harness):
    await small_shop(harness.db)
    await harness.send(updates.command(MERCHANT, "/stats chart"))
    (chart,) = harness.api.sent("sendPhoto", chat_id=MERCHANT.id)
    assert "Monthly trend over the last 12 months" in chart.text
    assert chart.params["_files"]["photo"][1].startswith(b"\x89PNG")
    await harness.send(updates.command(ARABIC_MERCHANT, "/cohort"))
    table, heatmap = harness.api.calls[-2:]
    assert "المجموعات الشهرية" in table.text and "<pre>" in table.text
    assert "2026-02" in table.text and "2026-03" in table.text
    assert heatmap.method == "sendPhoto" and heatmap.params["_files"]["photo"][1].startswith(b"\x89PNG")


async def test_cohort_of_an_empty_shop_says_so_without_a_picture(harness):
    await harness.send(updates.command(MERCHANT, "/cohort"))
    assert "No orders yet" in harness.last_text_to(MERCHANT)
    assert harness.api.sent("sendPhoto") == []


async def test_top_referrers_of_a_shop_without_referrals(harness):
    await harness.send(updates.command(MERCHANT, "/stats top"))
    assert "<b>Top referrers</b>" in harness.last_text_to(MERCHANT)
    assert "Nobody invited a friend in this period." in harness.last_text_to(MERCHANT)


async def test_export_sends_three_csv_documents(harness):
    await small_shop(harness.db)
    await harness.send(updates.command(MERCHANT, "/export"))
    documents = harness.api.sent("sendDocument", chat_id=MERCHANT.id)
    files = {call.params["_files"]["document"][0]: call.params["_files"]["document"][1] for call in documents}
    assert set(files) == {"customers.csv", "orders.csv", "survey_responses.csv"}

    def rows(name):
        return list(csv.DictReader(io.StringIO(files[name].decode("utf-8-sig"))))

    customers = rows("customers.csv")
    assert [(r["orders"], r["revenue"], r["first_order"]) for r in customers] == [
        ("2", "40.00", "2026-02-20"),
        ("1", "20.00", "2026-03-06"),
    ]
    orders = rows("orders.csv")
    assert [(r["shop_order_id"], r["status"]) for r in orders][-1] == ("b2", "refunded")
    (response,) = rows("survey_responses.csv")
    assert response["score"] == "10" and response["reason"].startswith("'=")  # no spreadsheet formulas


def test_cli_stats_json_and_rebuild(db_url, monkeypatch, capsys):
    async def seeded() -> dict:
        db = Database(db_url)
        try:
            if not db.is_sqlite:
                await _truncate_all(db)
            await small_shop(db)
            return await rollup_snapshot(db)
        finally:
            await db.dispose()

    async def snapshot() -> dict:
        db = Database(db_url)
        try:
            return await rollup_snapshot(db)
        finally:
            await db.dispose()

    before = asyncio.run(seeded())
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SHOP_TIMEZONE", "UTC")
    assert cli.main(["stats", "--period", "2026-03", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["orders"] == 2 and document["revenue"] == 50.0 and document["period"]["days"] == 31
    assert document["previous"]["orders"] == 1 and document["change"]["orders"] == 1
    for key in ("customers_total", "retention_rate", "churn_rate", "clv", "nps", "csat", "ces"):
        assert key in document
    assert cli.main(["stats", "--period", "2026-03"]) == 0
    assert "Orders: 2 (+1)" in capsys.readouterr().out
    assert cli.main(["stats", "--period", "soon"]) == 3
    assert cli.main(["rebuild-rollups"]) == 0
    assert "rebuilt analytics rollups for 2 customers" in capsys.readouterr().out
    assert asyncio.run(snapshot()) == before


async def test_a_big_export_goes_compressed(harness, monkeypatch):
    await small_shop(harness.db)
    monkeypatch.setattr(analytics, "GZIP_ABOVE_BYTES", 10)
    await harness.send(updates.command(MERCHANT, "/export"))
    name, body = harness.api.sent("sendDocument")[1].params["_files"]["document"][:2]
    assert name == "orders.csv.gz" and gzip.decompress(body).decode("utf-8-sig").startswith("order_id,")
