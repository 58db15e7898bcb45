"""Small talk through the fake Bot API: greetings, thanks, goodbyes and acknowledgements in English and
Arabic get a reply in kind, never an FAQ search, a hand-off offer or a gap; merchants extend the phrases."""

from __future__ import annotations

import pytest

from bot.app import build_application
from bot.faq import smalltalk
from bot.settings import SettingsError
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import FakeRequest
from tests.faq_support import AMIRA, JOHN, gaps, handoffs


async def say(harness, user, text: str) -> str:
    await harness.send(updates.message(user, text))
    return harness.last_text_to(user)


def offers_nothing(harness, user) -> bool:
    """The bot's last message to the user has no buttons (no "Talk to a person")."""
    (*_, last) = (call for call in harness.api.calls if call.chat_id == user.id)
    return "reply_markup" not in last.params


ENGLISH = [
    ("thanks!", "You're welcome!"),
    ("Thank you so much 🙏", "You're welcome!"),
    ("thanksss", "You're welcome!"),
    ("hello", "Hello, John!"),
    ("Hiii there :)", "Hello, John!"),
    ("ok", "👍 If you need anything else"),
    ("OK, got it.", "👍 If you need anything else"),
    ("👍", "👍 If you need anything else"),
    ("🙏🏽", "You're welcome!"),
    ("ok thanks, bye!", "Goodbye!"),
    ("Assalamu alaikum", "Wa alaikum assalam, John!"),
]
ARABIC = [
    ("السلام عليكم", "وعليكم السلام"),
    ("السلام عليكم ورحمة الله وبركاته", "وعليكم السلام"),
    ("مرحبا", "أهلًا وسهلًا"),
    ("أهلاً", "أهلًا وسهلًا"),
    ("شكرا", "العفو!"),
    ("شكراً جزيلاً 🌹", "العفو!"),
    ("مشكووور", "العفو!"),
    ("تمام", "👍 إن احتجت"),
    ("مع السلامة", "في أمان الله!"),
]


async def test_english_small_talk_gets_a_reply_in_kind_and_no_gap(harness):
    for text, expected in ENGLISH:
        assert (await say(harness, JOHN, text)).startswith(expected), text
        assert offers_nothing(harness, JOHN), f"no offer of a person: {text}"
    assert await gaps(harness) == []
    assert await handoffs(harness) == []


async def test_arabic_small_talk_gets_a_reply_in_kind_and_no_gap(harness):
    await harness.send(updates.command(AMIRA, "/start"))
    for text, expected in ARABIC:
        assert (await say(harness, AMIRA, text)).startswith(expected), text
        assert offers_nothing(harness, AMIRA), text
    assert await gaps(harness) == []
    assert await handoffs(harness) == []


async def test_a_greeting_with_a_question_is_still_a_question(harness):
    assert "1-2 working days" in await say(harness, JOHN, "hello, when will my order arrive?")
    assert "couldn't find an answer" in await say(harness, JOHN, "hi, do you sell gift cards?")
    assert len(await gaps(harness)) == 1
    assert "لم أجد إجابة" in await say(harness, AMIRA, "السلام عليكم، هل تبيعون بطاقات هدايا؟")
    assert len(await gaps(harness)) == 2
    # Emoji the file does not list are no small talk either (the usual "not understood").
    assert "Sorry" in await say(harness, JOHN, "🦄")


async def test_during_a_conversation_thanks_reach_the_team(harness):
    await harness.send(updates.message(JOHN, "I want to talk to a human"))
    await harness.send(updates.message(JOHN, "thanks!"))
    assert "thanks!" in harness.last_text_to(MERCHANT)


async def test_merchants_extend_the_phrases_in_their_own_file(harness, settings, tmp_path, bot_api):
    own = tmp_path / "smalltalk.yaml"
    own.write_text("thanks:\n  - merci\n  - 🫶\ngreeting:\n  - bonjour\n", encoding="utf-8")
    application = build_application(
        settings.model_copy(update={"smalltalk_file": own}), request=FakeRequest(bot_api), migrate=False
    )
    harness.app.bot_data[smalltalk.PHRASEBOOK_KEY] = application.bot_data[smalltalk.PHRASEBOOK_KEY]
    assert (await say(harness, JOHN, "Merci!")).startswith("You're welcome!")
    assert (await say(harness, JOHN, "🫶")).startswith("You're welcome!")
    assert (await say(harness, AMIRA, "bonjour")).startswith("أهلًا وسهلًا")
    assert "couldn't find an answer" in await say(harness, JOHN, "thanks")  # only the merchant's phrases
    assert len(await gaps(harness)) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("thanks:\n  - merci\nsmiles:\n  - hi\n", "line 3: unknown kind 'smiles'"),
        ("thanks: merci\n", "line 1: thanks needs a list of phrases"),
        ("thanks:\n  - merci\n  - 🙏🙏\n", "line 3: '🙏🙏' needs words or a single emoji"),
        ("thanks:\n  - [a, b]\n", "line 2: a phrase must be a text"),
    ],
)
def test_a_bad_phrases_file_stops_the_start_naming_file_and_line(settings, tmp_path, content, message):
    bad = tmp_path / "talk.yaml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as raised:
        build_application(settings.model_copy(update={"smalltalk_file": bad}), migrate=False)
    assert str(raised.value).startswith("setting SMALLTALK_FILE is invalid: ")
    assert f"{bad}, {message}" in str(raised.value)
