"""Birthday edges found in review: repeating a recent /birthday must not promise points the sweep will not
give, and a birthday told only after it passed is not greeted days late by the catch-up."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.outreach import rules
from tests.fakes import updates
from tests.outreach_support import OMAR, SARA, customer_of, ledger, run, started, texts

GREETING = "Happy birthday"


async def test_repeating_a_recent_birthday_does_not_promise_points(harness):
    await started(harness, SARA)
    harness.clock.set(datetime(2026, 5, 1, 12, tzinfo=UTC))
    await harness.send(updates.command(SARA, "/birthday 20-05"))
    assert "from next year on" in harness.last_text_to(SARA)
    harness.clock.set(datetime(2026, 5, 2, 12, tzinfo=UTC))
    await harness.send(updates.command(SARA, "/birthday 20-05"))  # same date again
    reply = harness.last_text_to(SARA)
    assert "with 100 bonus points" not in reply and "from next year on" in reply
    harness.clock.set(datetime(2026, 5, 20, 12, tzinfo=UTC))
    await run(harness)
    (greeting,) = texts(harness, SARA, GREETING)
    assert "bonus points" not in greeting
    assert await ledger(harness.db, (await customer_of(harness, SARA)).id, "birthday") == []


async def test_same_birthday_set_long_ago_still_promises_points(harness):
    await started(harness, SARA)
    harness.clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    await harness.send(updates.command(SARA, "/birthday 20-05"))
    harness.clock.set(datetime(2026, 5, 10, 12, tzinfo=UTC))
    await harness.send(updates.command(SARA, "/birthday 20-05"))
    assert "with 100 bonus points" in harness.last_text_to(SARA)


async def test_birthday_told_after_it_passed_is_not_greeted_late(harness):
    await started(harness, SARA)
    harness.clock.set(datetime(2026, 5, 21, 12, tzinfo=UTC))
    await harness.send(updates.command(SARA, "/birthday 20-05"))  # yesterday
    await run(harness)
    harness.clock.set(datetime(2026, 5, 22, 12, tzinfo=UTC))
    await run(harness)
    assert texts(harness, SARA, GREETING) == []
    harness.clock.set(datetime(2027, 5, 20, 12, tzinfo=UTC))
    await run(harness)
    assert len(texts(harness, SARA, GREETING)) == 1


async def test_birthday_set_on_the_day_is_still_greeted_that_day(harness):
    await started(harness, SARA)
    harness.clock.set(datetime(2026, 5, 20, 15, tzinfo=UTC))
    await harness.send(updates.command(SARA, "/birthday 20-05"))
    await run(harness)
    assert len(texts(harness, SARA, GREETING)) == 1


async def test_arabic_birthday_with_invisible_direction_marks_is_accepted(harness):
    await started(harness, OMAR)
    # Copied Arabic text often carries RLM/ALM marks around the digits; the customer cannot see them.
    await harness.send(updates.command(OMAR, "/birthday \u200f٢٥\u061c/\u200f١٢\u200f"))
    assert "تم الحفظ" in harness.last_text_to(OMAR)
    assert (await customer_of(harness, OMAR)).birthday == date(rules.NO_YEAR, 12, 25)
