"""Surveys a crash left in `sending`: resent questions mark the survey sent, undelivered ones are freed (no
longer throttling, their order's CSAT retried), and nothing stays `sending` forever."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.outreach import dispatcher
from bot.outreach import jobs as outreach_jobs
from bot.surveys import service
from bot.surveys.jobs import sweep
from bot.surveys.service import Outcome
from tests.outreach_support import outbox_rows
from tests.surveys_support import (
    JOHN,
    job_context,
    order,
    responses,
    score_data,
    started,
    survey_now,
    surveys,
    tap,
)


def crash_once(monkeypatch, module, name):
    """The next call of module.name dies as if the process were killed there; later calls work."""
    original = getattr(module, name)
    calls = []

    async def dying(*args, **kwargs):
        if not calls:
            calls.append(1)
            raise RuntimeError("process killed")
        return await original(*args, **kwargs)

    monkeypatch.setattr(module, name, dying)


async def test_question_resent_by_the_outbox_marks_the_survey_sent(harness, monkeypatch):
    customer_id = await started(harness, JOHN)
    crash_once(monkeypatch, dispatcher, "_send")  # claimed in the outbox, never confirmed
    with pytest.raises(RuntimeError):
        await survey_now(harness, customer_id, "nps")
    (survey,) = await surveys(harness)
    assert survey.state == "sending"
    assert await survey_now(harness, customer_id, "nps") == Outcome.THROTTLED, "it may have reached them"
    harness.clock.advance(seconds=61)
    await outreach_jobs.dispatch(harness.app)  # the outbox resends the stale claim
    assert "How likely" in harness.last_text_to(JOHN)
    (row,) = await outbox_rows(harness.db, "survey")
    assert row.state == "sent"
    await sweep(job_context(harness))
    (survey,) = await surveys(harness)
    assert (survey.state, survey.message_id, survey.chat_id) == ("sent", row.message_id, JOHN.id)
    await tap(harness, JOHN, score_data(harness, JOHN)["8"])
    assert (await responses(harness))[0].score == 8


async def test_survey_never_queued_is_freed_and_its_order_surveyed_again(harness, monkeypatch):
    customer_id = await started(harness, JOHN)
    order_id = await order(harness, customer_id, "A-1", harness.clock.now() - timedelta(hours=25))
    crash_once(monkeypatch, service, "deliver")  # died after reserving, before the outbox row
    assert (await sweep(job_context(harness)))[Outcome.FAILED] == 1
    (stuck,) = await surveys(harness)
    assert (stuck.state, stuck.order_id) == ("sending", order_id)
    assert await outbox_rows(harness.db, "survey") == []
    # Too fresh to judge: it might still be on its way.
    await sweep(job_context(harness))
    assert [s.state for s in await surveys(harness)] == ["sending"]
    harness.clock.advance(minutes=2)
    outcomes = await sweep(job_context(harness))
    assert outcomes[Outcome.SENT] == 1
    first, second = await surveys(harness)
    assert (first.state, first.order_id) == ("failed", None), "freed: no throttle, order released"
    assert (second.state, second.order_id, second.kind) == ("sent", order_id, "csat")
    assert "How satisfied" in harness.last_text_to(JOHN)


async def test_question_the_outbox_never_sent_is_cancelled_when_the_survey_expires(harness, monkeypatch):
    customer_id = await started(harness, JOHN)
    crash_once(monkeypatch, dispatcher, "_send")
    with pytest.raises(RuntimeError):
        await survey_now(harness, customer_id, "ces")
    harness.clock.advance(minutes=5)
    await sweep(job_context(harness))
    assert [s.state for s in await surveys(harness)] == ["sending"], "left to the outbox to resend"
    harness.clock.advance(days=7)
    await sweep(job_context(harness))
    (survey,) = await surveys(harness)
    (row,) = await outbox_rows(harness.db, "survey")
    assert (survey.state, row.state) == ("failed", "cancelled")
    await outreach_jobs.dispatch(harness.app)
    assert not [text for text in harness.texts_to(JOHN) if "How easy" in text], "no week-old question"
    assert await survey_now(harness, customer_id, "ces") == Outcome.SENT, "no longer throttled"
