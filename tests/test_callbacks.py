"""The callback-data codec (bot/callbacks.py): round trips, bounds, Telegram's 64 bytes, and every kind of
button the bot sends parsed by exactly one kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import pytest

from bot import callback_kinds
from bot.callback_kinds import (
    AskRedeem,
    BroadcastAction,
    CancelRedeem,
    ConfirmRedeem,
    FaqHuman,
    FaqQuestion,
    FaqVote,
    HistoryPage,
    SurveyScore,
)
from bot.callbacks import INT_MAX, CallbackData, InvalidCallbackData, Limit, parse_id

SAMPLES = [
    callback_kinds.PickLanguage("ar"),
    callback_kinds.ForgetMe("yes"),
    SurveyScore(7, 10),
    callback_kinds.SurveySkip(7),
    HistoryPage(0),
    AskRedeem("COFFEE"),
    ConfirmRedeem("COFFEE", "0123456789ab"),
    CancelRedeem(),
    callback_kinds.CouponQr(INT_MAX),
    FaqQuestion(INT_MAX),
    FaqVote(12, False),
    FaqHuman(),
    FaqHuman(3),
    callback_kinds.FaqKeep(),
    callback_kinds.FaqCancel(),
    callback_kinds.FaqDelete(5),
    callback_kinds.FaqGapAnswer(INT_MAX),
    BroadcastAction("stop", 9),
    BroadcastAction("test", 9),
]


@pytest.mark.parametrize("button", SAMPLES, ids=lambda button: type(button).__name__)
def test_every_kind_round_trips_and_no_other_kind_reads_its_data(button):
    data = button.pack()
    assert type(button).parse(data) == button
    readers = [kind.__name__ for kind in CallbackData.kinds.values() if kind.parse(data) is not None]
    assert readers == [type(button).__name__]


def test_the_wire_format_of_buttons_already_sent_is_kept():
    assert FaqVote(12, True).pack() == "faqv:12:1"
    assert FaqHuman().pack() == "faqh" and FaqHuman(4).pack() == "faqh:4"
    assert ConfirmRedeem("COFFEE", "00aa11bb22cc").pack() == "loy:y:COFFEE:00aa11bb22cc"
    assert CancelRedeem().pack() == "loy:n" and HistoryPage(3).pack() == "loy:h:3"
    assert BroadcastAction("go", 1).pack() == "bc:go:1" and SurveyScore(2, 0).pack() == "sv:2:0"
    assert BroadcastAction("test", 7).pack() == "bc:test:7"
    assert callback_kinds.FaqGapAnswer(8).pack() == "faqgap:8"


@pytest.mark.parametrize(
    "data",
    [
        "faqv:2147483648:1",  # one past PostgreSQL's INTEGER
        "faqv:99999999999999999999:1",
        "faqv:-1:1",
        "faqv:012:1",  # not canonical
        "faqv:١٢:1",  # int() would take Arabic-Indic digits
        "faqv:1_0:1",
        "faqv:12:2",
        "faqv:12",
        "faqv:12:1:",
        "faqv:12:1:0",
        "faqv:",
        "faqh:",
        "faq:1" + "0" * 70,  # over 64 bytes
        "sv:1:11",
        "bc:resend:1",
        "bc:test:2147483648",
        "faqgap:2147483648",
        "faqgap:x",
        "loy:r:CO FFEE",
        "loy:y:COFFEE:0123456789abc",
        "loy:n:x",
        "",
    ],
)
def test_malformed_or_out_of_range_data_is_no_button(data):
    assert all(kind.parse(data) is None for kind in CallbackData.kinds.values())


def test_the_largest_id_still_parses():
    assert FaqVote.parse(f"faqv:{INT_MAX}:0") == FaqVote(INT_MAX, False)


@pytest.mark.parametrize(
    "button",
    [
        FaqVote(INT_MAX + 1, True),
        FaqVote(-1, True),
        FaqVote(True, True),  # a bool is no id
        FaqVote(1, 1),  # type: ignore[arg-type]
        HistoryPage(1_000_000),
        AskRedeem("two words"),
        AskRedeem("X" * 25),
        BroadcastAction("resend", 1),  # type: ignore[arg-type]
    ],
)
def test_packing_refuses_values_out_of_bounds(button):
    with pytest.raises(InvalidCallbackData):
        button.pack()


def test_packing_checks_telegrams_64_bytes():
    @dataclass(frozen=True)
    class Wide(CallbackData, prefix="test-wide"):
        first: Annotated[str, Limit(40)]
        second: Annotated[str, Limit(40)]

    try:
        assert Wide("a" * 20, "b" * 20).pack() == "test-wide:" + "a" * 20 + ":" + "b" * 20
        with pytest.raises(InvalidCallbackData, match="64 bytes"):
            Wide("a" * 40, "b" * 40).pack()
        assert Wide.parse("test-wide:" + "a" * 40 + ":" + "b" * 40) is None
    finally:
        CallbackData.kinds.pop("test-wide")


def test_a_prefix_is_taken_once_and_only_the_last_field_may_be_optional():
    with pytest.raises(TypeError):

        class Again(CallbackData, prefix="faqv"):
            pass

    @dataclass(frozen=True)
    class Gappy(CallbackData, prefix="test-gappy"):
        first: int | None
        second: Literal["a"]

    try:
        with pytest.raises(TypeError):
            Gappy(None, "a").pack()
    finally:
        CallbackData.kinds.pop("test-gappy")


def test_typed_ids_are_bounded_too():
    assert parse_id("12") == 12 and parse_id(str(INT_MAX)) == INT_MAX
    assert parse_id(str(INT_MAX + 1)) is None and parse_id("²") is None and parse_id("١") is None
