"""Grammar, numbers and dates through the real bot: CLDR plurals in English and Arabic (all six forms),
Arabic-Indic digits on request (ARABIC_DIGITS), digits typed in any script, dates in the shop's time zone
(SHOP_TIMEZONE) and Hijri dates on request (ARABIC_CALENDAR)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.app import build_application
from bot.formatting import Formats, latin_digits
from bot.settings import Settings
from storage.customers import get_customer
from tests import surveys_support
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import FakeBotApi, FakeRequest
from tests.fakes.updates import TgUser
from tests.harness import FakeClock, Harness

NORA = TgUser(id=6001, first_name="Nora", language_code="en")
SAMI = TgUser(id=6002, first_name="سامي", language_code="ar")
# Mona's Arabic-speaking colleague.
HUDA = TgUser(id=900002, first_name="هدى", language_code="ar")
FSI, PDI = "\u2068", "\u2069"


@asynccontextmanager
async def bot(settings: Settings, db: Any, **changes: Any) -> AsyncIterator[Harness]:
    """The real application, as the `harness` fixture builds it, with these settings changed."""
    changed = settings.model_copy(update={"merchant_ids": (MERCHANT.id, HUDA.id), **changes})
    api, clock = FakeBotApi(), FakeClock()
    application = build_application(changed, request=FakeRequest(api), db=db, clock=clock, migrate=False)
    await application.initialize()
    await application.post_init(application)
    try:
        yield Harness(application, api, clock)
    finally:
        await application.shutdown()
        await application.post_shutdown(application)


async def member_code(harness: Harness, user: TgUser) -> str:
    await harness.send(updates.command(user, "/start"))
    async with harness.db.read_session() as session:
        customer = await get_customer(session, telegram_id=user.id)
    assert customer is not None
    return customer.member_code


async def award(harness: Harness, code: str, amount: str, order: str) -> None:
    await harness.send(updates.command(MERCHANT, f"/award {code} {amount} {order}"))


async def test_english_says_one_point_and_two_points(settings, db):
    async with bot(settings, db) as harness:
        code = await member_code(harness, NORA)
        await award(harness, code, "1", "A-1")
        assert harness.last_text_to(MERCHANT).startswith("✅ 1 point for Nora")
        assert "You earned <b>1 point</b>" in harness.last_text_to(NORA)
        await award(harness, code, "2", "A-2")
        assert harness.last_text_to(MERCHANT).startswith("✅ 2 points for Nora")
        assert "You earned <b>2 points</b>" in harness.last_text_to(NORA)


@pytest.mark.parametrize(
    ("amount", "earned"),
    [
        ("1", "نقطة واحدة"),
        ("2", "نقطتين"),
        ("3", f"{FSI}3{PDI} نقاط"),
        ("11", f"{FSI}11{PDI} نقطة"),
        ("100", f"{FSI}100{PDI} نقطة"),
    ],
)
async def test_arabic_points_take_the_cldr_form_of_their_number(settings, db, amount, earned):
    async with bot(settings, db) as harness:
        code = await member_code(harness, SAMI)
        await award(harness, code, amount, f"A-{amount}")
        assert f"ربحت <b>{earned}</b>" in harness.last_text_to(SAMI)


async def test_arabic_zero_form_for_no_survey_responses(settings, db):
    async with bot(settings, db) as harness:
        await harness.send(updates.command(HUDA, "/stats"))
        text = harness.last_text_to(HUDA)
        assert "(NPS)" in text and "(لا ردود)" in text and "responses" not in text


async def test_english_stats_count_one_response_not_one_responses(settings, db):
    formats = Formats()
    assert formats.plural("en", 1, {"one": "{n} response", "other": "{n} responses"}) == "1 response"
    async with bot(settings, db) as harness:
        await harness.send(updates.command(MERCHANT, "/stats"))
        assert "(0 responses)" in harness.last_text_to(MERCHANT)


async def test_arabic_digits_setting(settings, db):
    async with bot(settings, db, arabic_digits="arabic") as harness:
        code = await member_code(harness, SAMI)
        await award(harness, code, "3", "A-3")
        text = harness.last_text_to(SAMI)
        assert f"ربحت <b>{FSI}٣{PDI} نقاط</b>" in text
        assert "٢٩ مارس ٢٠٢٦" in text  # the day the points become available
        assert "3" not in text.replace("A-3", "")
        await award(harness, NORA.id, "3", "A-4")  # English messages keep Latin digits
    async with bot(settings, db) as harness:  # the default: Latin digits in Arabic too
        await award(harness, code, "3", "A-5")
        assert f"ربحت <b>{FSI}3{PDI} نقاط</b>" in harness.last_text_to(SAMI)
        assert "29 مارس 2026" in harness.last_text_to(SAMI)


async def test_amounts_and_ids_typed_in_arabic_indic_or_persian_digits(settings, db):
    async with bot(settings, db) as harness:
        await member_code(harness, NORA)
        # Nora's Telegram id 6001 and 25.50 in Persian digits, an amount in Arabic-Indic ones.
        await harness.send(updates.command(MERCHANT, "/award ۶۰۰۱ ۲۵٫۵۰ P-1"))
        assert harness.last_text_to(MERCHANT).startswith("✅ 25 points for Nora (order P-1, $25.50")
        await harness.send(updates.command(MERCHANT, "/award 6001 ١٠ P-2"))
        assert harness.last_text_to(MERCHANT).startswith("✅ 10 points for Nora (order P-2, $10.00")
        await harness.send(updates.command(NORA, "/birthday ۲۵/۱۲/۱۹۹۰"))
        assert "December 25, 1990" in harness.last_text_to(NORA)


async def test_dates_are_the_shops_local_day(settings, db):
    async with bot(settings, db, shop_timezone="Asia/Riyadh") as harness:
        harness.clock.set(datetime(2026, 3, 15, 22, 30, tzinfo=UTC))  # already the 16th in Riyadh
        await member_code(harness, NORA)
        await award(harness, NORA.id, "10", "T-1")
        # 14 days later at 22:30 UTC is 01:30 on 30 March in Riyadh; UTC would say 29 March.
        assert "become available on Mar 30, 2026" in harness.last_text_to(NORA)
        await harness.send(updates.command(NORA, "/history"))
        history = harness.last_text_to(NORA)  # the purchase's day, and the day its points become available
        assert "Mar 16, 2026 · +10 · Purchase" in history and "available on Mar 30, 2026" in history


async def test_hijri_dates_for_arabic_messages(settings, db):
    async with bot(settings, db, arabic_calendar="hijri") as harness:
        code = await member_code(harness, SAMI)
        await award(harness, code, "10", "H-1")
        assert "10 شوال 1447 هـ" in harness.last_text_to(SAMI)  # 29 March 2026
        await harness.send(updates.command(SAMI, "/birthday 25-12-1990"))
        assert "8 جمادى الآخرة 1411 هـ" in harness.last_text_to(SAMI)
        await harness.send(updates.command(SAMI, "/birthday 25-12"))  # no year: no fixed Hijri day
        assert "25 ديسمبر" in harness.last_text_to(SAMI)
        await award(harness, NORA.id, "10", "H-2")
        await harness.send(updates.command(NORA, "/start"))
        await award(harness, NORA.id, "10", "H-3")
        assert "Mar 29, 2026" in harness.last_text_to(NORA)  # English stays Gregorian


def test_typed_digits_of_three_scripts():
    assert latin_digits("٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹") == "0123456789 0123456789"


def test_plural_forms_are_checked():
    with pytest.raises(ValueError, match="other"):
        Formats().plural("ar", 3, {"one": "x"})
    assert Formats().calendar_date("en", date(2026, 3, 1)) == "Mar 1, 2026"


async def test_survey_score_buttons_in_the_arabic_digits_setting(settings, db):
    async with bot(settings, db, arabic_digits="arabic") as harness:
        customer_id = await surveys_support.started(harness, SAMI)
        await surveys_support.survey_now(harness, customer_id, "csat")
        labels = [text for text, _ in harness.buttons_to(SAMI)]
        assert labels == ["١", "٢", "٣", "٤", "٥"]
        assert [data.rsplit(":", 1)[1] for _, data in harness.buttons_to(SAMI)] == ["1", "2", "3", "4", "5"]
