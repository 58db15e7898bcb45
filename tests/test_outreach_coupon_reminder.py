"""A coupon still unused OUTREACH_COUPON_REMINDER_DAYS (3) before it expires brings its owner one reminder,
in their language, through the outbox (opt-out and quiet hours as for other marketing); a used, void or
already expired coupon, or one further off, brings none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import coupons
from storage.points import issue_coupon
from tests.fakes import updates
from tests.outreach_support import OMAR, SARA, outbox_rows, run, started, texts

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)  # noon UTC: outside the default quiet hours


async def coupon(harness, customer_id: int, *, days: float, key: str) -> str:
    async with harness.db.session() as session:
        issued = await issue_coupon(
            session,
            customer_id=customer_id,
            source="reward",
            benefit="Free coffee",
            expires_at=harness.clock.now() + timedelta(days=days),
            key=key,
        )
        return issued.code


async def test_one_reminder_per_coupon_a_few_days_before_it_expires(harness):
    harness.clock.set(T0)
    sara = await started(harness, SARA)
    omar = await started(harness, OMAR)
    soon = await coupon(harness, sara, days=2, key="a")
    later = await coupon(harness, sara, days=20, key="b")
    used = await coupon(harness, sara, days=1, key="c")
    arabic = await coupon(harness, omar, days=3, key="d")
    async with harness.db.session() as session:
        assert await coupons.mark_used(session, code=used, now=harness.clock.now())
    await run(harness)
    (reminder,) = texts(harness, SARA, "A reminder")
    assert soon in reminder and "Mar 4, 2026" in reminder and "/coupons" in reminder
    assert later not in "".join(harness.texts_to(SARA)) and used not in "".join(harness.texts_to(SARA))
    (arabic_reminder,) = texts(harness, OMAR, "تذكير")
    assert arabic in arabic_reminder and "صالحة حتى" in arabic_reminder
    await run(harness)  # a sweep again: no second reminder
    assert len(texts(harness, SARA, "A reminder")) == 1
    harness.clock.advance(days=18)  # the later coupon's turn
    await run(harness)
    assert [later in text for text in texts(harness, SARA, "A reminder")] == [False, True]
    assert len(await outbox_rows(harness.db, "coupon_expiry")) == 3


async def test_no_reminder_after_stop_and_none_when_switched_off(harness):
    harness.clock.set(T0)
    sara = await started(harness, SARA)
    await coupon(harness, sara, days=2, key="a")
    await harness.send(updates.command(SARA, "/stop"))
    await run(harness)
    assert texts(harness, SARA, "A reminder") == []
    harness.app.bot_data["settings"] = harness.app.bot_data["settings"].model_copy(
        update={"outreach_coupon_reminder_days": 0}
    )
    await harness.send(updates.command(SARA, "/start"))
    await run(harness)
    assert texts(harness, SARA, "A reminder") == []
