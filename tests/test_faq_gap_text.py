"""An unanswered question holding characters a text column refuses (NUL, which PostgreSQL rejects, or a lone
surrogate) is still recorded as a gap, without them, and the customer gets the usual offer of a person."""

from __future__ import annotations

import pytest

from storage.text import storable
from tests import surveys_support
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.faq_support import AMIRA, JOHN, gaps


@pytest.mark.parametrize(
    ("user", "text", "stored", "reply"),
    [
        (JOHN, "Do you sell gift\x00 cards?", "Do you sell gift cards?", "couldn't find an answer"),
        (AMIRA, "هل تبيعون\x00 بطاقات هدايا؟\ud83d", "هل تبيعون بطاقات هدايا؟\ufffd", "لم أجد إجابة"),
    ],
)
async def test_a_question_with_nul_is_recorded_as_a_gap(harness, user, text, stored, reply):
    await harness.send(updates.message(user, text))
    assert reply in harness.last_text_to(user)
    (gap,) = await gaps(harness)
    assert gap.text == stored and "\x00" not in gap.normalized
    assert harness.buttons_to(user)[-1][1] == f"faqh:{gap.id}"
    # The offer of a person relays the stored question to the team.
    await harness.send(updates.callback(user, f"faqh:{gap.id}"))
    assert stored.rstrip("\ufffd") in harness.texts_to(MERCHANT)[-1]


def test_storable_keeps_everything_else():
    assert storable("a\x00b\x00") == "ab"
    assert storable("\ud800x\udfff") == "\ufffdx\ufffd"
    assert storable("مرحبا 👋 \u2068x\u2069\t\n") == "مرحبا 👋 \u2068x\u2069\t\n"


@pytest.mark.parametrize("user", [JOHN, AMIRA])
async def test_a_survey_reason_with_nul_is_stored_without_it(harness, user):
    customer_id = await surveys_support.started(harness, user)
    await surveys_support.survey_now(harness, customer_id, "nps")
    await surveys_support.tap(harness, user, surveys_support.score_data(harness, user)["3"])
    await harness.send(updates.message(user, "late\x00 delivery"))
    (response,) = await surveys_support.responses(harness)
    assert response.reason == "late delivery"
