"""/history tells pending points from earned ones, in English and Arabic: a purchase is dated when it was
made, and points still in the return window say when they become available; no line is dated ahead."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.formatting import Formats
from storage.customers import get_customer
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import ingest

NORA = TgUser(id=6201, first_name="Nora", language_code="en")
SAMI = TgUser(id=6202, first_name="سامي", language_code="ar")
SHOWN = Formats()  # the test settings: UTC, Latin digits, Gregorian


def shown(day: date, locale: str) -> str:
    """A day as the templates write it (Babel, the customer's language)."""
    return SHOWN.calendar_date(locale, day)


PENDING = {"en": "⏳ pending, available on {}", "ar": "⏳ معلّقة، تصبح متاحة في \u2068{}\u2069"}


async def buy(harness, user, order_id: str, amount_minor: int, days_ago: int) -> None:
    async with harness.db.read_session() as session:
        stored = await get_customer(session, telegram_id=user.id)
    now = harness.clock.now()
    await ingest(
        harness.db,
        harness.app.bot_data["settings"],
        order_id,
        amount_minor,
        now=now,
        customer_id=stored.id,
        ordered_at=now - timedelta(days=days_ago),
    )


@pytest.mark.parametrize(("user", "locale"), [(NORA, "en"), (SAMI, "ar")])
async def test_history_shows_pending_points_as_pending_with_their_date(harness, user, locale):
    await harness.send(updates.command(user, "/start"))
    await buy(harness, user, "kept-1", 2_000, days_ago=20)  # past the 14-day return window
    await buy(harness, user, "new-1", 3_000, days_ago=5)  # still pending
    await harness.send(updates.command(user, "/history"))
    lines = [line for line in harness.last_text_to(user).splitlines() if " · " in line]
    today = harness.clock.now().date()
    bought, pending = [line for line in lines if "new-1" in line], today - timedelta(days=5)
    assert len(bought) == 1
    assert bought[0].lstrip("\u2068").startswith(shown(pending, locale)), bought[0]
    assert PENDING[locale].format(shown(pending + timedelta(days=14), locale)) in bought[0]
    kept = next(line for line in lines if "kept-1" in line)
    assert "⏳" not in kept and shown(today - timedelta(days=20), locale) in kept
    welcome = next(line for line in lines if "+50" in line)
    assert shown(today, locale) in welcome and "⏳" not in welcome
    # No line is dated after today: the first date of each line is when its event happened.
    later = [shown(today + timedelta(days=n), locale) for n in range(1, 30)]
    assert not any(line.lstrip("\u2068").startswith(tuple(later)) for line in lines), lines
    # Once the window has passed, the same purchase reads as earned.
    harness.clock.advance(days=10)
    await harness.send(updates.command(user, "/history"))
    assert "⏳" not in harness.last_text_to(user)
