"""Detractor alerts reach the shop team even when the customer's message cannot be updated."""

from __future__ import annotations

from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import ApiError
from tests.surveys_support import JOHN, responses, score_data, started, survey_now


async def test_alert_is_sent_even_if_editing_the_survey_message_fails(harness):
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "nps")
    harness.api.fail(
        "editMessageText", ApiError(400, "Bad Request: message to edit not found"), chat_id=JOHN.id
    )
    await harness.send(updates.callback(JOHN, score_data(harness, JOHN)["3"]), allow_errors=True)
    (response,) = await responses(harness)
    assert response.score == 3
    assert "NPS <b>3</b> out of 10" in harness.last_text_to(MERCHANT)


async def test_alert_comes_in_the_language_the_merchant_chose(harness):
    await harness.send(updates.callback(MERCHANT, "lang:ar"))
    customer_id = await started(harness, JOHN)
    await survey_now(harness, customer_id, "csat")
    await harness.send(updates.callback(JOHN, score_data(harness, JOHN)["1"]))
    alert = harness.last_text_to(MERCHANT)
    assert "Unhappy customer" not in alert and "John" in alert
    assert any("\u0600" <= char <= "\u06ff" for char in alert)
