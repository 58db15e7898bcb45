"""The outbox: exactly-once bookkeeping, crash recovery, 429 and 403, quiet hours, the frequency cap,
customer replies never waiting behind bulk sends, surveys routed through it, /forgetme."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.context import env_of
from bot.outreach import dispatcher, jobs
from bot.outreach.dispatcher import claim_batch
from bot.surveys.service import Outcome, request_survey
from storage import outbox
from storage.models import CustomerOutreach, OutboxState
from tests.fakes import updates
from tests.fakes.bot_api import ApiError, blocked_by_user, too_many_requests
from tests.outreach_support import (
    SARA,
    add_customer,
    customer_of,
    order,
    outbox_rows,
    run,
    settings_of,
    started,
    texts,
)


async def queue(harness, customer_id: int, text: str, *, campaign: str = "broadcast", occurrence: str = "1"):
    async with harness.db.session() as session:
        return await outbox.enqueue(
            session,
            customer_id=customer_id,
            campaign=campaign,
            occurrence=occurrence,
            text=text,
            due_at=harness.clock.now(),
        )


async def test_each_key_is_queued_and_sent_once(harness):
    customer_id = await add_customer(harness.db, 8401)
    assert await queue(harness, customer_id, "hello") is not None
    assert await queue(harness, customer_id, "hello again") is None
    await jobs.dispatch(harness.app)
    await jobs.dispatch(harness.app)
    assert harness.texts_to(8401) == ["hello"]
    (row,) = await outbox_rows(harness.db)
    assert (row.state, row.attempts) == ("sent", 1) and row.message_id is not None


async def test_a_claim_left_by_a_crash_is_sent_again_after_the_claim_timeout(harness):
    customer_id = await add_customer(harness.db, 8402)
    await queue(harness, customer_id, "promo")
    claimed, _ = await claim_batch(env_of(harness.app))  # ... and the process dies before sending
    assert len(claimed) == 1
    await jobs.dispatch(harness.app)
    assert harness.texts_to(8402) == []  # another process may still be sending it
    harness.clock.advance(seconds=settings_of(harness).outreach_claim_timeout_seconds + 1)
    await jobs.dispatch(harness.app)
    assert harness.texts_to(8402) == ["promo"]
    (row,) = await outbox_rows(harness.db)
    assert (row.state, row.attempts) == ("sent", 2)  # attempts > 1 flags a possible duplicate


async def test_a_stale_claim_cannot_overwrite_the_newer_attempt(harness):
    customer_id = await add_customer(harness.db, 8403)
    row_id = await queue(harness, customer_id, "promo")
    await claim_batch(env_of(harness.app))
    harness.clock.advance(minutes=5)
    await jobs.dispatch(harness.app)
    async with harness.db.session() as session:
        late = await outbox.finish(session, message_id=row_id, attempt=1, state=OutboxState.FAILED)
    assert late is False
    assert [row.state for row in await outbox_rows(harness.db)] == ["sent"]


async def test_429_pauses_bulk_sends_for_retry_after_then_resumes(harness):
    ids = [await add_customer(harness.db, 8410 + n) for n in range(3)]
    for customer_id in ids:
        await queue(harness, customer_id, "sale")
    harness.api.fail("sendMessage", too_many_requests(1), chat_id=8410)
    interval = harness.app.bot.rate_limiter.budget.bulk_interval
    started_at = harness.clock.monotonic()  # pacing runs in virtual seconds: exact, and nobody waits
    tally = await jobs.dispatch(harness.app)
    assert harness.clock.monotonic() - started_at >= 1.0
    # The only pauses: retry_after (+0.1 s) for everything bulk (the refused chat waits it out aside, for its
    # own second as well), then the two others at the bulk rate, one after the other.
    assert all(at in (pytest.approx(1.1), pytest.approx(interval)) for at in harness.clock.sleeps)
    assert harness.clock.monotonic() - started_at == pytest.approx(1.1 + 2 * interval)
    assert tally[OutboxState.SENT] == 3
    # The first call was refused with 429 (Telegram delivered nothing), then retried once.
    calls = [call.chat_id for call in harness.api.sent("sendMessage")]
    assert calls[0] == 8410 and sorted(calls[1:]) == [8410, 8411, 8412]
    assert {row.state for row in await outbox_rows(harness.db)} == {"sent"}


async def test_403_marks_the_customer_unreachable_and_later_messages_are_skipped(harness):
    await started(harness, SARA)
    customer_id = (await customer_of(harness, SARA)).id
    await queue(harness, customer_id, "first", occurrence="1")
    harness.api.fail("sendMessage", blocked_by_user(), chat_id=SARA.id)
    tally = await jobs.dispatch(harness.app)
    assert tally[OutboxState.BLOCKED] == 1
    assert (await customer_of(harness, SARA)).reachable is False
    await queue(harness, customer_id, "second", occurrence="2")
    await jobs.dispatch(harness.app)
    assert [(r.state, r.outcome) for r in await outbox_rows(harness.db)] == [
        ("blocked", "forbidden"),
        ("skipped", "unreachable"),
    ]


async def test_other_errors_fail_and_network_errors_retry_later(harness):
    first = await add_customer(harness.db, 8420)
    await queue(harness, first, "x")
    harness.api.fail("sendMessage", ApiError(400, "Bad Request: chat not found"), chat_id=8420)
    assert (await jobs.dispatch(harness.app))[OutboxState.FAILED] == 1
    second = await add_customer(harness.db, 8421)
    await queue(harness, second, "y")
    harness.api.fail("sendMessage", ApiError(502, "Bad Gateway"), chat_id=8421)
    await jobs.dispatch(harness.app)
    assert [(r.state, r.outcome) for r in await outbox_rows(harness.db)][1] == ("pending", "network")
    harness.clock.advance(minutes=2)
    await jobs.dispatch(harness.app)
    assert [(r.state, r.attempts) for r in await outbox_rows(harness.db)] == [("failed", 1), ("sent", 2)]
    assert len(harness.api.sent("sendMessage", chat_id=8421)) == 2


async def test_quiet_hours_hold_marketing_until_morning_in_the_shop_time_zone(harness):
    settings_of(harness).shop_timezone = "Asia/Riyadh"
    customer_id = await add_customer(harness.db, 8430)
    harness.clock.set(datetime(2026, 3, 15, 19, tzinfo=UTC))  # 22:00 in Riyadh
    await queue(harness, customer_id, "night promo")
    await jobs.dispatch(harness.app)
    assert harness.texts_to(8430) == []
    (row,) = await outbox_rows(harness.db)
    assert row.state == "pending" and row.due_at == datetime(2026, 3, 16, 6, tzinfo=UTC)
    harness.clock.set(datetime(2026, 3, 16, 6, tzinfo=UTC))
    await jobs.dispatch(harness.app)
    assert harness.texts_to(8430) == ["night promo"]


async def test_frequency_cap_spaces_marketing_messages_a_day_apart(harness):
    customer_id = await add_customer(harness.db, 8440, birthday=date(1990, 3, 15))
    await order(harness.db, customer_id, "F-1", harness.clock.now() - timedelta(days=70))
    queued, _ = await run(harness)
    assert queued == {"birthday": 1, "winback": 1, "coupon_expiry": 0}
    assert len(harness.texts_to(8440)) == 1
    harness.clock.advance(hours=23)
    await run(harness)
    assert len(harness.texts_to(8440)) == 1
    harness.clock.advance(hours=1, seconds=1)
    await run(harness)
    assert len(harness.texts_to(8440)) == 2


async def test_messages_not_sent_in_time_expire(harness):
    customer_id = await add_customer(harness.db, 8450)
    async with harness.db.session() as session:
        await outbox.enqueue(
            session,
            customer_id=customer_id,
            campaign="broadcast",
            occurrence="9",
            text="old news",
            due_at=harness.clock.now(),
            expires_at=harness.clock.now() + timedelta(hours=1),
        )
    harness.clock.advance(hours=2)
    await jobs.dispatch(harness.app)
    assert harness.texts_to(8450) == []
    assert [(r.state, r.outcome) for r in await outbox_rows(harness.db)] == [("skipped", "expired")]


async def test_opted_out_customers_are_skipped_at_send_time(harness):
    await started(harness, SARA)
    await queue(harness, (await customer_of(harness, SARA)).id, "promo")
    await harness.send(updates.command(SARA, "/stop"))
    await jobs.dispatch(harness.app)
    assert texts(harness, SARA, "promo") == []
    assert [(r.state, r.outcome) for r in await outbox_rows(harness.db)] == [("skipped", "opted_out")]


async def test_customer_replies_never_wait_behind_a_broadcast(harness):
    await started(harness, SARA)
    harness.app.bot.rate_limiter.budget.bulk_interval = 0.5  # 2 bulk messages per second
    for n in range(10):
        await queue(harness, await add_customer(harness.db, 8460 + n), "bulk")
    harness.clock.hold_pacing()  # bulk sends wait for their slot until the test lets pacing time pass
    drain = asyncio.create_task(jobs.dispatch(harness.app))
    # The broadcast is under way (the first slot was free) and will take ~5 s; the next one waits its turn.
    await harness.api.wait_for(lambda call: call.chat_id == 8460)
    await harness.clock.until_sleeping(1)
    paced_at, replies = harness.clock.monotonic(), len(harness.texts_to(SARA))
    await asyncio.wait_for(harness.send(updates.command(SARA, "/help")), 5)
    assert harness.clock.monotonic() == paced_at  # the reply waited for no pacing time at all
    assert len(harness.texts_to(SARA)) == replies + 1 and "/language" in harness.last_text_to(SARA)
    assert [call.chat_id for call in harness.api.sent("sendMessage") if call.chat_id != SARA.id] == [8460]
    assert not drain.done()
    harness.clock.resume_pacing()
    tally = await drain
    assert tally[OutboxState.SENT] == 10
    assert harness.clock.monotonic() - paced_at == pytest.approx(9 * 0.5)  # 10 messages at 2 per second


async def test_surveys_go_through_the_outbox(harness):
    await started(harness, SARA)
    customer_id = (await customer_of(harness, SARA)).id
    assert (
        await request_survey(harness.app, customer_id=customer_id, kind="nps", trigger="faq") == Outcome.SENT
    )
    (row,) = await outbox_rows(harness.db, "survey")
    assert row.state == "sent" and row.message_id is not None and "recommend" in row.text
    harness.api.fail("sendMessage", blocked_by_user(), chat_id=SARA.id)
    await request_survey(harness.app, customer_id=customer_id, kind="csat", trigger="faq")
    assert [row.state for row in await outbox_rows(harness.db, "survey")] == ["sent", "blocked"]


async def test_forgetme_removes_outreach_data(harness):
    await started(harness, SARA)
    await harness.send(updates.command(SARA, "/birthday 15-03"))
    customer_id = (await customer_of(harness, SARA)).id
    await queue(harness, customer_id, "sent one", occurrence="1")
    await jobs.dispatch(harness.app)
    harness.clock.set(datetime(2026, 3, 15, 22, tzinfo=UTC))  # quiet hours: this one stays pending
    await queue(harness, customer_id, "pending one", occurrence="2")
    await harness.send(updates.command(SARA, "/forgetme"))
    await harness.send(updates.callback(SARA, "forget:yes"))
    rows = await outbox_rows(harness.db)
    assert [(row.state, row.text) for row in rows] == [("sent", None)]
    async with harness.db.read_session() as session:
        assert await session.get(CustomerOutreach, customer_id) is None


async def test_jobs_are_repeating_sweeps_that_run_late_rather_than_never(harness):
    (sweep,) = harness.app.job_queue.get_jobs_by_name("outreach-sweep")
    (dispatch,) = harness.app.job_queue.get_jobs_by_name("outreach-dispatch")
    assert sweep.job.trigger.interval == timedelta(minutes=15)
    assert dispatch.job.trigger.interval == timedelta(seconds=10)
    assert sweep.job.misfire_grace_time is None and dispatch.job.coalesce is True


async def test_a_send_held_up_past_the_claim_timeout_is_not_claimed_again(harness, monkeypatch):
    """A live send waiting out 429 pauses for longer than the claim timeout is not a crashed claim: a
    concurrent drain must leave it alone, or the customer gets the message twice."""
    customer_id = await add_customer(harness.db, 8470)
    await queue(harness, customer_id, "only once")
    real_send, calls = dispatcher._send, []

    async def slow_send(env, chat_id, text, reply_markup):
        calls.append(chat_id)
        if len(calls) == 1:  # while this send waits, the claim grows stale and another drain runs
            harness.clock.advance(seconds=settings_of(harness).outreach_claim_timeout_seconds + 60)
            await dispatcher.drain(env)
        return await real_send(env, chat_id, text, reply_markup)

    monkeypatch.setattr(dispatcher, "_send", slow_send)
    await jobs.dispatch(harness.app)
    await jobs.dispatch(harness.app)
    assert calls == [8470] and harness.texts_to(8470) == ["only once"]
    (row,) = await outbox_rows(harness.db)
    assert (row.state, row.attempts) == ("sent", 1)
    assert not dispatcher.SENDING_HERE
