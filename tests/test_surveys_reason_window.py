"""Which free text is the "why?" of a score: a reply to the question always (while the reason is awaited),
plain text only as the first message shortly after the score; everything else reaches the FAQ. And a Skip
tapped after the reason window says so, not "already answered"."""

from __future__ import annotations

from tests.fakes import updates
from tests.surveys_support import (
    AMIRA,
    JOHN,
    last_toast,
    responses,
    score_data,
    started,
    survey_now,
    surveys,
    tap,
)

THANKS = "Thank you for your feedback"


async def answered(harness, user, score="9"):
    customer_id = await started(harness, user)
    await survey_now(harness, customer_id, "nps")
    await tap(harness, user, score_data(harness, user)[score])
    (survey,) = await surveys(harness)
    return survey


def reply_to(survey) -> dict:
    return {"message_id": survey.message_id, "date": 0, "chat": {"id": survey.chat_id, "type": "private"}}


async def test_text_after_the_short_window_goes_to_the_faq(harness):
    await answered(harness, JOHN)
    harness.clock.advance(minutes=10, seconds=1)
    await harness.send(updates.message(JOHN, "where is my order?"))
    assert "How can I track my order?" in harness.last_text_to(JOHN), "a later question gets its FAQ answer"
    assert (await responses(harness))[0].reason is None
    (survey,) = await surveys(harness)
    assert survey.awaiting_reason_until is not None, "a reply to the question may still give the reason"


async def test_reply_to_the_question_is_the_reason_hours_later(harness):
    survey = await answered(harness, JOHN)
    harness.clock.advance(hours=5)
    await harness.send(updates.message(JOHN, "hello"))
    assert THANKS not in harness.last_text_to(JOHN), "went on to the FAQ"
    await harness.send(updates.message(JOHN, "Slow delivery", reply_to_message=reply_to(survey)))
    assert THANKS in harness.last_text_to(JOHN)
    assert (await responses(harness))[0].reason == "Slow delivery"


async def test_reply_after_the_reason_hours_is_not_taken(harness):
    survey = await answered(harness, JOHN)
    harness.clock.advance(hours=24, seconds=1)
    await harness.send(updates.message(JOHN, "Slow delivery", reply_to_message=reply_to(survey)))
    assert THANKS not in harness.last_text_to(JOHN), "went on to the FAQ"
    assert (await responses(harness))[0].reason is None


async def test_reply_to_another_message_is_not_the_reason(harness):
    survey = await answered(harness, JOHN)
    other = {**reply_to(survey), "message_id": survey.message_id + 1000}
    await harness.send(updates.message(JOHN, "what about this?", reply_to_message=other))
    assert THANKS not in harness.last_text_to(JOHN), "went on to the FAQ"
    assert (await responses(harness))[0].reason is None


async def test_zero_minutes_means_only_replies_count(harness):
    harness.app.bot_data["settings"].survey_reason_free_text_minutes = 0
    survey = await answered(harness, JOHN)
    await harness.send(updates.message(JOHN, "opening hours?"))
    assert THANKS not in harness.last_text_to(JOHN), "went on to the FAQ"
    await harness.send(updates.message(JOHN, "Great prices", reply_to_message=reply_to(survey)))
    assert (await responses(harness))[0].reason == "Great prices"


async def test_late_skip_says_the_question_closed(harness):
    survey = await answered(harness, AMIRA)
    harness.clock.advance(hours=24, seconds=1)
    await tap(harness, AMIRA, f"svskip:{survey.id}")
    assert last_toast(harness) == "انتهى وقت إضافة السبب، وقد حفظنا تقييمك. شكرًا لك!"
    assert harness.api.sent("editMessageReplyMarkup", chat_id=AMIRA.id), "the dead Skip button is removed"


async def test_late_skip_in_english_and_second_skip_still_already_answered(harness):
    survey = await answered(harness, JOHN)
    await tap(harness, JOHN, f"svskip:{survey.id}")
    await tap(harness, JOHN, f"svskip:{survey.id}")
    assert "already answered" in last_toast(harness)
    harness.clock.advance(days=2)
    await tap(harness, JOHN, f"svskip:{survey.id}")
    assert "already answered" in last_toast(harness), "skipped in time: it was answered, not expired"


async def test_skip_after_the_window_in_english(harness):
    survey = await answered(harness, JOHN)
    harness.clock.advance(hours=25)
    await tap(harness, JOHN, f"svskip:{survey.id}")
    assert last_toast(harness) == "The time to add a reason has passed; your score is saved. Thank you!"
    assert (await responses(harness))[0].score == 9
