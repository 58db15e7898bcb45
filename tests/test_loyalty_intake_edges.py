"""Loyalty edge cases: ambiguous amounts, odd references, CSV dialects, --notify, rewards in Arabic."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import order_listeners
from bot.cli import main
from bot.loyalty import rules
from bot.loyalty.csv_import import import_orders
from storage.orders import get_order
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import NOW, balance, ingest
from tests.surveys_support import started


@pytest.mark.parametrize("text", ["1,234", "25,500", "1.234,50"])
def test_amounts_with_an_ambiguous_separator_are_refused_not_guessed(text):
    # With a three-decimal currency (KWD, BHD, OMR) "1,234" used to become 1.234 instead of 1234.
    for exponent in (0, 2, 3):
        with pytest.raises(ValueError, match="amount_format"):
            rules.parse_amount(text, exponent=exponent, max_units=10_000_000)


def test_thousands_separators_with_decimals_and_arabic_signs_are_read():
    assert rules.parse_amount("1,234.50", exponent=3, max_units=10_000) == 1_234_500
    assert rules.parse_amount("1\u066c234\u066b5", exponent=2, max_units=10_000) == 123_450
    assert rules.parse_amount("25,50", exponent=2, max_units=100) == 2550


async def test_csv_with_ambiguous_amount_reports_the_row(db, settings, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text('order_id,customer,amount,created_at\nK1,+96550001234,"1,234",2026-03-01\n')
    report = await import_orders(db, settings, path, listeners=order_listeners(), now=NOW, progress=None)
    assert report.imported == 0 and report.errors[0][0] == 2 and "ambiguous" in report.errors[0][1]
    async with db.read_session() as session:
        assert await get_order(session, external_id="K1") is None


async def test_an_over_long_plus_reference_is_kept_truncated_on_every_database(db, settings, tmp_path):
    path = tmp_path / "orders.csv"
    long_ref = "+" + "x" * 300
    path.write_text(
        f"order_id,customer,amount,created_at\nL1,{long_ref},10,2026-03-01\nL2,+15550001111,5,2026-03-01\n"
    )
    report = await import_orders(db, settings, path, listeners=order_listeners(), now=NOW, progress=None)
    assert report.imported == 2 and report.errors == []
    async with db.read_session() as session:
        stored = await get_order(session, external_id="L1")
    assert stored.customer_ref == long_ref[:128]


def test_import_notify_without_a_token_is_a_one_line_settings_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer,amount,created_at\nN1,+15550001111,5,2026-03-01\n")
    assert main(["import-orders", str(path), "--notify"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "BOT_TOKEN" in err[0]


async def test_award_with_unusual_digits_replies_instead_of_failing(harness):
    await harness.send(updates.command(MERCHANT, "/award ²³⁴ 10"))  # isdigit() but not int()
    assert "Usage" in harness.last_text_to(MERCHANT)
    await harness.send(updates.command(MERCHANT, "/survey nps ²³⁴"))
    assert "No customer matches" in harness.last_text_to(MERCHANT)


async def test_award_by_phone_in_arabic_digits_reaches_the_member(harness, settings):
    sara = TgUser(id=7301, first_name="Sara", language_code="ar")
    customer_id = await started(harness, sara)
    await harness.send(updates.contact(sara, "+966500000009"))
    await harness.send(updates.command(MERCHANT, "/award +٩٦٦٥٠٠٠٠٠٠٠٩ ٢٠"))
    assert "20 points for Sara" in harness.last_text_to(MERCHANT)
    assert (await balance(harness.db, settings, customer_id, harness.clock.now())).pending == 20
    # Kept for someone not yet in the bot, an Arabic-digit phone links once they share it.
    await harness.send(updates.command(MERCHANT, "/award +٩٦٦٥٠٠٠٠٠٠١٠ 5 AR-2"))
    omar = TgUser(id=7302, first_name="Omar", language_code="ar")
    omar_id = await started(harness, omar)
    await harness.send(updates.contact(omar, "+966500000010"))
    assert (await balance(harness.db, settings, omar_id, harness.clock.now())).pending == 5


def test_tier_names_and_reward_benefits_come_in_both_languages():
    assert [tier.name for tier in rules.parse_tiers("Gold|ذهبي:100:2,Base:0:1", locale="ar")] == [
        "Base",
        "ذهبي",
    ]
    assert [tier.name for tier in rules.parse_tiers("Gold|ذهبي:100:2,Base:0:1")] == ["Base", "Gold"]
    (coffee,) = rules.parse_rewards("COFFEE:100:Free coffee|قهوة مجانية", locale="ar")
    assert coffee.benefit == "قهوة مجانية"
    with pytest.raises(ValueError, match="64"):
        rules.parse_rewards("X:1:ok|" + "ا" * 65)


async def test_arabic_customers_see_rewards_and_coupon_in_arabic(harness, settings):
    huda = TgUser(id=7303, first_name="Huda", language_code="ar")
    await started(harness, huda)
    await harness.send(updates.command(huda, "/rewards"))
    text = harness.last_text_to(huda)
    assert "قهوة مجانية" in text and "Free coffee" not in text
    assert any("قهوة مجانية" in label for label, _ in harness.buttons_to(huda))


@pytest.mark.parametrize("separator", [";", "\t"])
async def test_csv_saved_with_semicolons_or_tabs_is_read(db, settings, tmp_path, separator):
    path = tmp_path / "orders.csv"
    rows = [["order_id", "customer", "amount", "created_at"], ["S1", "+15550001111", "12,50", "2026-03-01"]]
    path.write_text("".join(separator.join(row) + "\n" for row in rows), encoding="utf-8-sig")
    report = await import_orders(db, settings, path, listeners=order_listeners(), now=NOW, progress=None)
    assert (report.imported, report.errors) == (1, [])
    async with db.read_session() as session:
        assert (await get_order(session, external_id="S1")).amount_minor == 1250


async def test_award_to_a_too_short_number_is_refused_and_keeps_the_order_id_free(harness):
    await harness.send(updates.command(MERCHANT, "/award 12 50 W-77"))
    assert "nothing was recorded" in harness.last_text_to(MERCHANT)
    async with harness.db.read_session() as session:
        assert await get_order(session, external_id="W-77") is None
    await harness.send(updates.command(MERCHANT, "/award 123456789 50 W-77"))
    assert "W-77" in harness.last_text_to(MERCHANT) and "already" not in harness.last_text_to(MERCHANT)


async def test_arabic_history_names_the_redeemed_reward_in_arabic(harness, settings):
    rana = TgUser(id=7304, first_name="Rana", language_code="ar")
    customer_id = await started(harness, rana)
    now = harness.clock.now()
    await ingest(
        harness.db,
        settings,
        "R-1",
        10_000,
        now=now,
        customer_id=customer_id,
        ordered_at=now - timedelta(days=20),
    )
    await harness.send(updates.callback(rana, "loy:r:COFFEE"))
    confirm = harness.api.sent("editMessageText", chat_id=rana.id)[-1]
    await harness.send(
        updates.callback(rana, confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    )
    await harness.send(updates.command(rana, "/history"))
    history = harness.last_text_to(rana)
    assert "قهوة مجانية" in history and "COFFEE" not in history
