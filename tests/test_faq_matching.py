"""FAQ matching rules without Telegram or a database: normalization, scores, thresholds, the FAQ file."""

from __future__ import annotations

import pytest

from bot.faq import library, matching
from bot.settings import Settings

SAMPLE = library.load_file(Settings(_env_file=None).faq_file)
IDS = {(entry.code, entry.locale): number for number, entry in enumerate(SAMPLE, start=1)}
CODES = {number: code for (code, _), number in IDS.items()}
POOL = matching.candidates((IDS[(e.code, e.locale)], e.question, e.phrasings) for e in SAMPLE)


def codes_for(text: str) -> list[str]:
    decision = matching.decide(text, POOL, threshold=70, margin=5)
    return [CODES[match.entry_id] for match in decision.matches]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("مُدَّةُ الشَّحْنِ", "مده الشحن"),  # diacritics, ta marbuta
        ("الشـــحن", "الشحن"),  # tatweel
        ("أين إرجاع آخر ٱلطلب", "اين ارجاع اخر الطلب"),  # alef variants
        ("متى يصل طلبى", "متي يصل طلبي"),  # alef maqsura and ya
        ("خلال ١٤ يوم أو ۱۵", "خلال 14 يوم او 15"),  # Arabic-Indic and Eastern Arabic-Indic digits
        ("  Where's   MY order?! ", "where s my order"),
    ],
)
def test_normalization(raw, expected):
    assert matching.normalize(raw) == expected


def test_the_sample_faq_has_every_entry_in_english_and_arabic():
    codes = {entry.code for entry in SAMPLE}
    assert len(codes) >= 6
    assert {(code, locale) for code in codes for locale in ("en", "ar")} == set(IDS)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("What is your return policy?", "returns"),
        ("return policy", "returns"),
        ("When will my order arrive?", "shipping"),
        ("when will my ordr arive", "shipping"),  # typos
        ("shiping tiem", "shipping"),
        ("retrun an item after 14 days", "returns"),
        ("Which payment methods do you accept", "payment"),
        ("refund", "returns"),
        ("where is my order", "tracking"),
        ("size chart", "sizes"),
        ("متى يصل طلبي؟", "shipping"),
        ("متي يصل طلبى", "shipping"),  # ya / alef maqsura swapped
        ("مُدَّة الشَّحْن", "shipping"),  # with diacritics
        ("الإرجاع خلال ١٤ يوم", "returns"),  # Arabic-Indic digits
        ("سياسة الأسترجاع", "returns"),  # wrong hamza
        ("كم تكلفه الشحن", "shipping_cost"),  # ha instead of ta marbuta
        ("ما هي اوقات العمل", "hours"),
        ("جدول المقاسات", "sizes"),
    ],
)
def test_questions_find_their_entry(text, code):
    assert codes_for(text) == [code]


@pytest.mark.parametrize(
    "text", ["hello", "what is the weather like", "my phone screen broke", "مرحبا كيف الحال"]
)
def test_unrelated_text_finds_nothing(text):
    assert codes_for(text) == []


def test_two_close_entries_are_both_offered():
    assert sorted(codes_for("shipping")) == ["shipping", "shipping_cost"]
    # The margin decides how close "close" is.
    query = "how long does shipping take"
    assert codes_for(query) == ["shipping"]
    wide = matching.decide(query, POOL, threshold=60, margin=20)
    assert sorted(CODES[match.entry_id] for match in wide.matches) == ["shipping", "shipping_cost"]


def test_threshold_decides_between_an_answer_and_a_gap():
    best = matching.rank("retrun an item after 14 days", POOL, limit=1)[0]
    assert matching.decide("retrun an item after 14 days", POOL, threshold=best.score, margin=5).answer
    assert not matching.decide(
        "retrun an item after 14 days", POOL, threshold=best.score + 1, margin=5
    ).matches


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("talk to a human", True),
        ("I want an agent please", True),
        ("أريد التحدث مع موظف", True),
        ("ابي انسان", True),
        ("where is my order", False),
        ("متى يصل طلبي", False),
    ],
)
def test_asking_for_a_person(text, wanted):
    assert matching.wants_human(text) is wanted


def test_faq_file_errors_name_the_entry(tmp_path):
    path = tmp_path / "faq.yaml"
    path.write_text("entries:\n  - code: Bad Code\n    en: {question: q, answer: a}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="entry 1 needs a code"):
        library.load_file(path)
    path.write_text("entries:\n  - code: ok\n    ar: {question: سؤال}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'ok' \\(ar\\) needs a question and an answer"):
        library.load_file(path)
    path.write_text("entries: [\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid YAML"):
        library.load_file(path)
