"""Answering surveys end to end through the fake Bot API: one-tap scores, the "why?", stale and duplicate
taps, detractor alerts and the optional reward."""

from __future__ import annotations

import asyncio

from bot.app import build_application
from bot.loyalty.balances import points_balance
from bot.surveys.service import Outcome
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import FakeRequest
from tests.harness import Harness
from tests.surveys_support import (
    AMIRA,
    JOHN,
    LEE,
    last_toast,
    responses,
    score_data,
    started,
    survey_now,
    surveys,
    tap,
)


async def test_nps_question_has_eleven_buttons_in_two_rows(harness):
    customer_id = await started(harness, JOHN)
    assert await survey_now(harness, customer_id, "nps") == Outcome.SENT
    text = harness.last_text_to(JOHN)
    assert "How likely are you to recommend <b>Test Shop</b> to friends and family?" in text
    rows = harness.last_markup_to(JOHN)["inline_keyboard"]
    assert [[button["text"] for button in row] for row in rows] == [
        ["0", "1", "2", "3", "4", "5"],
        ["6", "7", "8", "9", "10"],
    ]
    (survey,) = await surveys(harness)
    assert survey.state == "sent" and survey.message_id is not None and survey.trigger == "merchant"
    assert rows[1][3]["callback_data"] == f"sv:{survey.id}:9"


async def test_csat_and_ces_scales(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "csat")
    assert list(score_data(harness, JOHN)) == ["1", "2", "3", "4", "5"]
    assert "How satisfied" in harness.last_text_to(JOHN)
    await survey_now(harness, customer_id, "ces", trigger="faq")
    assert list(score_data(harness, JOHN)) == ["1", "2", "3", "4", "5", "6", "7"]
    assert "How easy" in harness.last_text_to(JOHN)


async def test_score_then_reason_is_stored_with_its_survey(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "nps")
    await tap(harness, JOHN, score_data(harness, JOHN)["9"])
    edit = harness.api.sent("editMessageText", chat_id=JOHN.id)[-1]
    assert "You chose <b>9</b> out of 10" in edit.text and "main reason" in edit.text
    (survey,) = await surveys(harness)
    assert harness.buttons_to(JOHN) == [("Skip", f"svskip:{survey.id}")]
    await harness.send(updates.message(JOHN, "  Fast delivery  "))
    assert "Thank you for your feedback" in harness.last_text_to(JOHN)
    (response,) = await responses(harness)
    assert (response.customer_id, response.kind, response.score, response.reason) == (
        customer_id,
        "nps",
        9,
        "Fast delivery",
    )
    assert response.survey_id == survey.id and response.answered_at == harness.clock.now()
    assert harness.api.sent("editMessageReplyMarkup", chat_id=JOHN.id), "the Skip button is removed"
    # A promoter is no news for the shop team.
    assert harness.api.sent(chat_id=MERCHANT.id) == []
    # The reason was taken; the next text is ordinary chat again.
    await harness.send(updates.message(JOHN, "do you sell kites?"))
    assert "couldn't find an answer" in harness.last_text_to(JOHN), "FAQ matching, not a second reason"


async def test_second_tap_changes_nothing_and_says_so(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "csat")
    buttons = score_data(harness, JOHN)
    await tap(harness, JOHN, buttons["5"])
    edits = len(harness.api.sent("editMessageText"))
    await tap(harness, JOHN, buttons["1"])
    assert "already answered" in last_toast(harness)
    assert len(harness.api.sent("editMessageText")) == edits
    (response,) = await responses(harness)
    assert response.score == 5
    assert (await surveys(harness))[0].score == 5


async def test_racing_taps_record_one_answer(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "nps")
    buttons = score_data(harness, JOHN)
    await asyncio.gather(*(tap(harness, JOHN, buttons[label]) for label in ("3", "8", "10", "0")))
    assert len(await responses(harness)) == 1
    assert sum(1 for call in harness.api.sent("answerCallbackQuery") if call.params.get("text")) == 3


async def test_tap_after_validity_says_the_survey_closed(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "nps")
    buttons = score_data(harness, JOHN)
    harness.clock.advance(days=7, seconds=1)
    await tap(harness, JOHN, buttons["10"])
    assert "survey has closed" in last_toast(harness)
    assert "survey has closed" in harness.api.sent("editMessageText", chat_id=JOHN.id)[-1].text
    assert await responses(harness) == []


async def test_tap_just_before_closing_counts(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "nps")
    buttons = score_data(harness, JOHN)
    harness.clock.advance(days=6, hours=23)
    await tap(harness, JOHN, buttons["10"])
    assert [response.score for response in await responses(harness)] == [10]


async def test_someone_elses_survey_and_forged_scores_change_nothing(harness):
    customer_id = await started(harness, JOHN)
    await started(harness, LEE)
    await survey_now(harness, customer_id, "csat")
    (survey,) = await surveys(harness)
    await tap(harness, LEE, f"sv:{survey.id}:5")
    assert "not available" in last_toast(harness)
    await tap(harness, JOHN, f"sv:{survey.id}:9")
    assert "not available" in last_toast(harness)
    await tap(harness, JOHN, "sv:999999:3")
    assert "not available" in last_toast(harness)
    assert await responses(harness) == []


async def test_detractor_alert_reaches_merchant_with_name_score_and_reason(harness):
    customer_id = await started(harness, AMIRA)
    await survey_now(harness, customer_id, "csat")
    assert "ما مدى رضاك" in harness.last_text_to(AMIRA)
    await tap(harness, AMIRA, score_data(harness, AMIRA)["2"])
    assert "اخترت" in harness.api.sent("editMessageText", chat_id=AMIRA.id)[-1].text
    assert harness.buttons_to(AMIRA)[0][0] == "تخطٍّ"
    alert = harness.last_text_to(MERCHANT)
    assert "Unhappy customer" in alert and "أميرة" in alert and "CSAT <b>2</b> out of 5" in alert
    assert f"tg://user?id={AMIRA.id}" in alert
    await harness.send(updates.message(AMIRA, "وصل الطلب متأخرًا <جدًا>"))
    assert "شكرًا على رأيك" in harness.last_text_to(AMIRA)
    follow_up = harness.last_text_to(MERCHANT)
    assert "Reason from" in follow_up and "أميرة" in follow_up and "CSAT 2 out of 5" in follow_up
    assert "وصل الطلب متأخرًا &lt;جدًا&gt;" in follow_up


async def test_skip_thanks_and_tells_the_merchant_no_reason_came(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "nps")
    await tap(harness, JOHN, score_data(harness, JOHN)["4"])
    assert "NPS <b>4</b> out of 10" in harness.last_text_to(MERCHANT)
    await tap(harness, JOHN, harness.buttons_to(JOHN)[0][1])
    assert "Thank you for your feedback" in harness.api.sent("editMessageText", chat_id=JOHN.id)[-1].text
    assert "chose not to give a reason" in harness.last_text_to(MERCHANT)
    (response,) = await responses(harness)
    assert response.reason is None and response.score == 4
    await tap(harness, JOHN, harness.buttons_to(JOHN)[0][1])
    assert "already answered" in last_toast(harness)
    await harness.send(updates.message(JOHN, "actually, the price"))
    assert "couldn't find an answer" in harness.last_text_to(JOHN), "FAQ matching, not a reason"
    assert (await responses(harness))[0].reason is None


async def test_passive_csat_and_ces_do_not_alert(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "csat")
    await tap(harness, JOHN, score_data(harness, JOHN)["3"])
    await survey_now(harness, customer_id, "ces", trigger="handoff")
    await tap(harness, JOHN, score_data(harness, JOHN)["1"])
    assert harness.api.sent(chat_id=MERCHANT.id) == []


async def test_reason_is_not_awaited_forever(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "nps")
    await tap(harness, JOHN, score_data(harness, JOHN)["10"])
    harness.clock.advance(hours=24, seconds=1)
    await harness.send(updates.message(JOHN, "late thoughts"))
    assert "couldn't find an answer" in harness.last_text_to(JOHN), "FAQ matching, not a reason"
    assert (await responses(harness))[0].reason is None


async def test_reward_points_once_per_survey(harness):
    harness.app.bot_data["settings"].survey_reward_points = 5
    harness.app.bot_data["settings"].loyalty_welcome_bonus = 0  # count survey points only
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "nps")
    buttons = score_data(harness, JOHN)
    await tap(harness, JOHN, buttons["10"])
    assert "You earned 5 points" in harness.api.sent("editMessageText", chat_id=JOHN.id)[-1].text
    await tap(harness, JOHN, buttons["9"])
    async with harness.db.read_session() as session:
        balance = await points_balance(session, customer_id=customer_id, now=harness.clock.now())
    assert balance.available == 5


async def test_no_reward_by_default(harness):
    harness.app.bot_data["settings"].loyalty_welcome_bonus = 0  # count survey points only
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "nps")
    await tap(harness, JOHN, score_data(harness, JOHN)["10"])
    assert "points" not in harness.api.sent("editMessageText", chat_id=JOHN.id)[-1].text
    async with harness.db.read_session() as session:
        balance = await points_balance(session, customer_id=customer_id, now=harness.clock.now())
    assert balance.available == 0


async def test_awaited_reason_survives_a_restart(harness, settings, bot_api, clock):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "nps")
    await tap(harness, JOHN, score_data(harness, JOHN)["2"])
    # A fresh application over the same database: nothing of the first one's memory is left.
    application = build_application(
        settings, request=FakeRequest(bot_api), db=harness.db, clock=clock, migrate=False
    )
    await application.initialize()
    await application.post_init(application)
    try:
        restarted = Harness(application, bot_api, clock)
        await restarted.send(updates.message(JOHN, "Too expensive"))
        assert "Thank you for your feedback" in restarted.last_text_to(JOHN)
    finally:
        await application.shutdown()
    assert (await responses(harness))[0].reason == "Too expensive"
    assert "Too expensive" in harness.last_text_to(MERCHANT)


async def test_forgetme_erases_the_reason_but_keeps_the_score(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "csat")
    await tap(harness, JOHN, score_data(harness, JOHN)["4"])
    await harness.send(updates.message(JOHN, "My name is John Doe"))
    await harness.send(updates.command(JOHN, "/forgetme"))
    await harness.send(updates.callback(JOHN, "forget:yes"))
    (response,) = await responses(harness)
    assert response.reason is None and response.score == 4
