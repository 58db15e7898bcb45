"""Birthdays: /birthday in every accepted form, the daily greeting once a year with bonus points, the
30-day lock, 29 February, catching up after downtime, opted-out customers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.outreach import rules
from storage.models import CustomerOutreach
from tests.fakes import updates
from tests.outreach_support import (
    OMAR,
    SARA,
    add_customer,
    customer_of,
    ledger,
    outbox_rows,
    run,
    settings_of,
    started,
    texts,
)

GREETING = "Happy birthday"


async def test_birthday_command_saves_and_shows_the_date(harness):
    await started(harness, SARA)
    await harness.send(updates.command(SARA, "/birthday"))
    assert "/birthday 25-12" in harness.last_text_to(SARA)
    await harness.send(updates.command(SARA, "/birthday 25/12/1990"))
    assert "Saved: <b>December 25, 1990</b>" in harness.last_text_to(SARA)
    assert (await customer_of(harness, SARA)).birthday == date(1990, 12, 25)
    await harness.send(updates.command(SARA, "/birthday"))
    assert "December 25, 1990" in harness.last_text_to(SARA)


async def test_arabic_customer_uses_arabic_indic_digits(harness):
    await started(harness, OMAR)
    await harness.send(updates.command(OMAR, "/birthday ٠٤-٠٧"))
    assert "4 يوليو" in harness.last_text_to(OMAR) and "تم الحفظ" in harness.last_text_to(OMAR)
    assert (await customer_of(harness, OMAR)).birthday == date(rules.NO_YEAR, 7, 4)


async def test_bad_birthday_is_refused_and_changes_nothing(harness):
    await started(harness, SARA)
    await harness.send(updates.command(SARA, "/birthday 10-05"))
    for bad in ("/birthday 31-02", "/birthday tomorrow", "/birthday 10-05-2090"):
        await harness.send(updates.command(SARA, bad))
        assert "Nothing was changed" in harness.last_text_to(SARA)
    assert (await customer_of(harness, SARA)).birthday == date(rules.NO_YEAR, 5, 10)


async def test_greeting_at_the_local_hour_once_a_year_with_bonus_points(harness):
    clock = harness.clock
    clock.set(datetime(2026, 6, 1, 6, tzinfo=UTC))
    settings_of(harness).shop_timezone = "Asia/Riyadh"  # 10:00 there is 07:00 UTC
    customer_id = await add_customer(harness.db, 8201, birthday=date(1990, 6, 1))
    await run(harness)
    assert texts(harness, 8201, GREETING) == []
    clock.set(datetime(2026, 6, 1, 7, 0, tzinfo=UTC))
    await run(harness)
    (greeting,) = texts(harness, 8201, GREETING)
    assert "100 bonus points" in greeting
    (entry,) = await ledger(harness.db, customer_id, "birthday")
    assert entry.delta == 100 and entry.idempotency_key == f"birthday:2026:{customer_id}"
    for _ in range(3):  # later sweeps that day, and the next days, send nothing more
        clock.advance(hours=9)
        await run(harness)
    assert len(texts(harness, 8201, GREETING)) == 1
    clock.set(datetime(2027, 6, 1, 8, tzinfo=UTC))
    await run(harness)
    assert len(texts(harness, 8201, GREETING)) == 2
    assert len(await ledger(harness.db, customer_id, "birthday")) == 2


async def test_birthday_set_within_thirty_days_is_greeted_without_points(harness):
    await started(harness, SARA)
    harness.clock.set(datetime(2026, 5, 1, 12, tzinfo=UTC))
    await harness.send(updates.command(SARA, "/birthday 20-05"))
    assert "from next year on" in harness.last_text_to(SARA)
    harness.clock.set(datetime(2026, 5, 20, 12, tzinfo=UTC))
    await run(harness)
    (greeting,) = texts(harness, SARA, GREETING)
    assert "bonus points" not in greeting
    customer_id = (await customer_of(harness, SARA)).id
    assert await ledger(harness.db, customer_id, "birthday") == []
    harness.clock.set(datetime(2027, 5, 20, 12, tzinfo=UTC))
    await run(harness)
    assert "100 bonus points" in texts(harness, SARA, GREETING)[-1]


async def test_birthday_set_early_enough_keeps_its_gift(harness):
    await started(harness, SARA)
    harness.clock.set(datetime(2026, 4, 1, 12, tzinfo=UTC))
    await harness.send(updates.command(SARA, "/birthday 20-05"))
    assert "with 100 bonus points" in harness.last_text_to(SARA)
    harness.clock.set(datetime(2026, 5, 20, 12, tzinfo=UTC))
    await run(harness)
    assert "100 bonus points" in texts(harness, SARA, GREETING)[0]


async def test_february_29_is_greeted_on_the_28th_in_common_years(harness):
    await add_customer(harness.db, 8202, birthday=date(2000, 2, 29))
    harness.clock.set(datetime(2027, 2, 28, 12, tzinfo=UTC))
    await run(harness)
    assert len(texts(harness, 8202, GREETING)) == 1
    harness.clock.set(datetime(2027, 3, 1, 12, tzinfo=UTC))
    await run(harness)
    assert len(texts(harness, 8202, GREETING)) == 1
    assert [row.occurrence for row in await outbox_rows(harness.db, "birthday")] == ["2027"]


async def test_downtime_is_caught_up_but_not_forever(harness):
    await add_customer(harness.db, 8203, birthday=date(1995, 3, 14))
    await add_customer(harness.db, 8204, birthday=date(1995, 3, 10))
    await run(harness)  # 15 March: the 14th is one day late, the 10th is too long ago
    assert len(texts(harness, 8203, GREETING)) == 1
    assert texts(harness, 8204, GREETING) == []


async def test_opted_out_and_blocked_customers_get_no_greeting(harness):
    await started(harness, SARA)
    await harness.send(updates.command(SARA, "/birthday 15-03"))
    await harness.send(updates.command(SARA, "/stop"))
    await run(harness)
    assert texts(harness, SARA, GREETING) == []
    assert await outbox_rows(harness.db, "birthday") == []


async def test_customer_time_zone_overrides_the_shops(harness):
    customer_id = await add_customer(harness.db, 8205, birthday=date(1990, 3, 16))
    async with harness.db.session() as session:
        session.add(CustomerOutreach(customer_id=customer_id, time_zone="Pacific/Kiritimati"))  # UTC+14
    harness.clock.set(datetime(2026, 3, 15, 20, tzinfo=UTC) - timedelta(hours=0))  # 10:00 on the 16th there
    await run(harness)
    assert len(texts(harness, 8205, GREETING)) == 1


async def test_arabic_greeting_with_points_in_arabic(harness):
    await add_customer(harness.db, 8206, locale="ar", birthday=date(1990, 3, 15))
    await run(harness)
    (greeting,) = [text for text in harness.texts_to(8206) if "عيد ميلاد سعيد" in text]
    assert "\u2068100\u2069 نقطة" in greeting and "/balance" in greeting
