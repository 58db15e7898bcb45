"""Conversion notices go through the outbox in the conversion's own transaction: a crash between the
commit and the send loses neither notice, and re-running the sweep and the dispatcher repeats neither."""

from __future__ import annotations

from sqlmodel import select

from bot.outreach import jobs as outreach_jobs
from bot.referrals import jobs as referral_jobs
from storage.models import OutboxMessage
from tests.referrals_support import NEIL, RITA, WINDOW, buy, invite, run_sweep, start


async def test_notices_survive_a_crash_after_the_conversion_commit(harness, monkeypatch):
    await start(harness, RITA)
    await invite(harness, RITA, NEIL)
    await buy(harness, NEIL, "n-1", 2500)
    harness.clock.advance(days=WINDOW.days, hours=1)
    before_rita, before_neil = len(harness.texts_to(RITA)), len(harness.texts_to(NEIL))

    async def crash(*args, **kwargs):  # the process dies right after the conversion committed
        raise SystemExit

    monkeypatch.setattr(referral_jobs, "send_queued", crash)
    try:
        await run_sweep(harness)
    except SystemExit:
        pass
    monkeypatch.undo()
    assert len(harness.texts_to(RITA)) == before_rita and len(harness.texts_to(NEIL)) == before_neil

    # After the restart the sweep finds nothing to settle; the dispatcher sends both notices once.
    assert sum((await run_sweep(harness)).values()) == 0
    await outreach_jobs.dispatch(harness.app)
    await outreach_jobs.dispatch(harness.app)
    rita_texts, neil_texts = harness.texts_to(RITA)[before_rita:], harness.texts_to(NEIL)[before_neil:]
    assert len(rita_texts) == 1 and "A friend you invited has kept their first purchase" in rita_texts[0]
    assert len(neil_texts) == 1 and "<b>100 points</b> are in your balance" in neil_texts[0]
    async with harness.db.read_session() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(row.campaign, row.occurrence.split(":")[1], row.state) for row in rows] == [
        ("referral", "referrer", "sent"),
        ("referral", "referee", "sent"),
    ]


async def test_notices_are_sent_at_once_by_the_sweep(harness):
    await start(harness, RITA)
    await invite(harness, RITA, NEIL)
    await buy(harness, NEIL, "n-1", 2500)
    harness.clock.advance(days=WINDOW.days, hours=1)
    assert (await run_sweep(harness))["rewarded"] == 1
    assert "You earned <b>200 points</b>" in harness.last_text_to(RITA)
    # The dispatcher finds nothing left to send.
    assert sum((await outreach_jobs.dispatch(harness.app)).values()) == 0
