"""When surveys go out: CSAT after purchases, periodic NPS, the /survey command, and the rules every trigger
obeys (one per type per 30 days, opt-out, blocked customers)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.surveys.jobs import request_survey_later, sweep
from bot.surveys.service import Outcome, request_survey
from storage.orders import refund_order
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import ApiError, blocked_by_user
from tests.surveys_support import (
    AMIRA,
    JOHN,
    LEE,
    customer_of,
    job_context,
    order,
    started,
    survey_now,
    surveys,
)


def questions_to(harness, user) -> list[str]:
    return [text for text in harness.texts_to(user) if "Tap a number" in text or "اضغط على رقم" in text]


def csats_to(harness, user) -> list[str]:
    return [text for text in questions_to(harness, user) if "How satisfied" in text]


async def test_csat_goes_out_once_per_order_after_the_delay(harness):
    customer_id = await started(harness, JOHN)
    now = harness.clock.now()
    order_id = await order(harness, customer_id, "A-1", now - timedelta(hours=23))
    assert sum((await sweep(job_context(harness))).values()) == 0
    harness.clock.advance(hours=1, seconds=1)
    assert (await sweep(job_context(harness)))[Outcome.SENT] == 1
    assert "How satisfied" in questions_to(harness, JOHN)[-1]
    (survey,) = await surveys(harness)
    assert (survey.kind, survey.trigger, survey.order_id) == ("csat", "purchase", order_id)
    harness.clock.advance(minutes=15)
    assert sum((await sweep(job_context(harness))).values()) == 0
    assert len(questions_to(harness, JOHN)) == 1


async def test_refunded_and_long_past_orders_are_not_surveyed(harness):
    customer_id = await started(harness, JOHN)
    now = harness.clock.now()
    await order(harness, customer_id, "A-1", now - timedelta(hours=30))
    async with harness.db.session() as session:
        await refund_order(session, external_id="A-1", refunded_at=now)
    await order(harness, customer_id, "A-2", now - timedelta(days=5))
    harness.app.bot_data["settings"].survey_nps_interval_days = 0
    assert sum((await sweep(job_context(harness))).values()) == 0
    assert questions_to(harness, JOHN) == []


async def test_one_csat_per_thirty_days_even_for_several_orders(harness):
    customer_id = await started(harness, JOHN)
    now = harness.clock.now()
    await order(harness, customer_id, "A-1", now - timedelta(hours=30))
    await order(harness, customer_id, "A-2", now - timedelta(hours=25))
    await sweep(job_context(harness))
    assert len(csats_to(harness, JOHN)) == 1
    harness.clock.advance(days=10)
    await order(harness, customer_id, "A-3", harness.clock.now() - timedelta(hours=25))
    await sweep(job_context(harness))
    assert await survey_now(harness, customer_id, "csat") == Outcome.THROTTLED
    assert len(csats_to(harness, JOHN)) == 1
    harness.clock.advance(days=21)
    await order(harness, customer_id, "A-4", harness.clock.now() - timedelta(hours=25))
    await sweep(job_context(harness))
    assert len(csats_to(harness, JOHN)) == 2


async def test_throttle_is_per_type(harness):
    customer_id = await started(harness, JOHN)
    assert await survey_now(harness, customer_id, "csat") == Outcome.SENT
    assert await survey_now(harness, customer_id, "nps") == Outcome.SENT
    assert await survey_now(harness, customer_id, "ces", trigger="faq") == Outcome.SENT
    assert await survey_now(harness, customer_id, "ces", trigger="faq") == Outcome.THROTTLED
    harness.clock.advance(days=29, hours=23)
    assert await survey_now(harness, customer_id, "nps") == Outcome.THROTTLED
    harness.clock.advance(hours=1)
    assert await survey_now(harness, customer_id, "nps") == Outcome.SENT


async def test_opted_out_customers_get_no_surveys(harness):
    customer_id = await started(harness, JOHN)
    await harness.send(updates.command(JOHN, "/stop"))
    await order(harness, customer_id, "A-1", harness.clock.now() - timedelta(hours=25))
    assert sum((await sweep(job_context(harness))).values()) == 0
    assert await survey_now(harness, customer_id, "nps") == Outcome.OPTED_OUT
    assert questions_to(harness, JOHN) == [] and await surveys(harness) == []


async def test_blocked_bot_marks_customer_unreachable_and_does_not_count(harness):
    customer_id = await started(harness, JOHN)
    harness.api.fail("sendMessage", blocked_by_user(), chat_id=JOHN.id)
    assert await survey_now(harness, customer_id, "nps") == Outcome.UNREACHABLE
    assert (await customer_of(harness, JOHN)).reachable is False
    assert [survey.state for survey in await surveys(harness)] == ["failed"]
    assert await survey_now(harness, customer_id, "nps") == Outcome.UNREACHABLE
    await harness.send(updates.my_chat_member(JOHN, old="kicked", new="member"))
    assert await survey_now(harness, customer_id, "nps") == Outcome.SENT


async def test_a_failed_purchase_csat_is_retried_by_the_next_sweep(harness):
    customer_id = await started(harness, JOHN)
    order_id = await order(harness, customer_id, "A-1", harness.clock.now() - timedelta(hours=25))
    harness.api.fail("sendMessage", ApiError(400, "Bad Request: chat not found"), chat_id=JOHN.id)
    assert (await sweep(job_context(harness)))[Outcome.FAILED] == 1
    assert (await customer_of(harness, JOHN)).reachable is True
    harness.clock.advance(minutes=15)
    assert (await sweep(job_context(harness)))[Outcome.SENT] >= 1
    assert [
        (survey.state, survey.order_id) for survey in await surveys(harness) if survey.kind == "csat"
    ] == [
        ("failed", None),
        ("sent", order_id),
    ]


async def test_unknown_customer_is_reported_not_raised(harness):
    assert await request_survey(harness.app, customer_id=4242, kind="nps", trigger="faq") == Outcome.UNKNOWN


async def test_periodic_nps_to_active_customers_every_ninety_days(harness):
    active = await started(harness, JOHN)
    lapsed = await started(harness, LEE)
    now = harness.clock.now()
    await order(harness, active, "A-1", now - timedelta(days=10))
    await order(harness, lapsed, "B-1", now - timedelta(days=100))
    assert (await sweep(job_context(harness)))[Outcome.SENT] == 1
    assert "recommend" in questions_to(harness, JOHN)[-1] and questions_to(harness, LEE) == []
    (survey,) = await surveys(harness)
    assert (survey.kind, survey.trigger) == ("nps", "periodic")
    harness.clock.advance(days=45)
    await order(harness, active, "A-2", harness.clock.now() - timedelta(days=5))
    await sweep(job_context(harness))
    assert len(questions_to(harness, JOHN)) == 1
    harness.clock.advance(days=46)
    await sweep(job_context(harness))
    assert len(questions_to(harness, JOHN)) == 2


async def test_sweep_is_scheduled_on_the_job_queue(harness):
    (job,) = harness.app.job_queue.get_jobs_by_name("surveys-sweep")
    assert job.job.trigger.interval == timedelta(minutes=15)


async def test_merchant_sends_a_survey_by_telegram_id(harness):
    await started(harness, AMIRA)
    await harness.send(updates.command(MERCHANT, f"/survey nps {AMIRA.id}"))
    assert "NPS survey sent to أميرة" in harness.last_text_to(MERCHANT)
    assert "ما مدى احتمال أن توصي" in harness.last_text_to(AMIRA)
    await harness.send(updates.command(MERCHANT, f"/survey NPS {AMIRA.id}"))
    assert "was already sent the NPS survey in the last 30 days" in harness.last_text_to(MERCHANT)
    assert len(questions_to(harness, AMIRA)) == 1


async def test_merchant_command_rejects_bad_input_and_unknown_people(harness):
    await harness.send(updates.command(MERCHANT, "/survey"))
    assert "/survey nps|csat|ces" in harness.last_text_to(MERCHANT)
    await harness.send(updates.command(MERCHANT, "/survey xyz 123"))
    assert "/survey nps|csat|ces" in harness.last_text_to(MERCHANT)
    await harness.send(updates.command(MERCHANT, "/survey nps @john"))
    assert "No customer matches @john" in harness.last_text_to(MERCHANT)
    await harness.send(updates.command(MERCHANT, "/survey csat 777"))
    assert "No customer matches 777" in harness.last_text_to(MERCHANT)
    assert await surveys(harness) == []


async def test_merchant_names_a_customer_by_member_code(harness):
    await started(harness, JOHN)
    customer = await customer_of(harness, JOHN)
    assert customer.member_code
    await harness.send(updates.command(MERCHANT, f"/survey nps {customer.member_code.lower()}"))
    assert "NPS survey sent" in harness.last_text_to(MERCHANT)
    assert [s.kind for s in await surveys(harness)] == ["nps"]


async def test_customers_cannot_send_surveys(harness):
    await started(harness, JOHN)
    await harness.send(updates.command(JOHN, "/survey nps all"))
    assert "for the shop team only" in harness.last_text_to(JOHN)
    assert await surveys(harness) == []


@pytest.mark.filterwarnings("ignore:Tasks created via:UserWarning")  # the test app is not "running"
async def test_merchant_surveys_everyone_who_may_be_surveyed(harness):
    for user in (JOHN, AMIRA, LEE):
        await started(harness, user)
    await harness.send(updates.command(LEE, "/stop"))
    await survey_now(harness, (await customer_of(harness, AMIRA)).id, "csat")
    await harness.send(updates.command(MERCHANT, "/survey csat all"))
    assert "to 2 customers" in harness.texts_to(MERCHANT)[0]
    done = await harness.api.wait_for(
        lambda call: call.chat_id == MERCHANT.id and "survey done" in (call.text or "")
    )
    assert "1 sent, 1 skipped" in done.text and "0 failed" in done.text
    assert len(questions_to(harness, JOHN)) == 1 and len(questions_to(harness, AMIRA)) == 1
    assert questions_to(harness, LEE) == []


async def test_ces_can_be_queued_for_later_on_the_job_queue(harness):
    customer_id = await started(harness, JOHN)
    request_survey_later(harness.app, customer_id=customer_id, kind="ces", trigger="handoff")
    (job,) = harness.app.job_queue.get_jobs_by_name(f"survey-ces-{customer_id}")
    assert questions_to(harness, JOHN) == []
    await job.run(harness.app)
    assert "How easy" in questions_to(harness, JOHN)[-1]
    assert [(survey.kind, survey.trigger) for survey in await surveys(harness)] == [("ces", "handoff")]
