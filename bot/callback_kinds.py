"""Every inline button the bot sends, by kind: its prefix and typed fields (the codec is bot/callbacks.py).

The prefixes and field order are the wire format of buttons already sitting in chats: change one and
those buttons answer "no longer active". Ids are bounded to the database's INTEGER by the codec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from bot.callbacks import CallbackData, Limit

# --- onboarding -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PickLanguage(CallbackData, prefix="lang"):
    locale: Annotated[str, Limit(8)]  # checked against LOCALES by the handler


@dataclass(frozen=True)
class ForgetMe(CallbackData, prefix="forget"):
    answer: Literal["yes", "no"]


# --- surveys ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyScore(CallbackData, prefix="sv"):
    survey_id: int
    score: Annotated[int, Limit(10)]  # the widest scale (NPS); the survey's own scale is checked on tap


@dataclass(frozen=True)
class SurveySkip(CallbackData, prefix="svskip"):
    survey_id: int


# --- loyalty ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryPage(CallbackData, prefix="loy:h"):
    page: Annotated[int, Limit(999_999)]


@dataclass(frozen=True)
class AskRedeem(CallbackData, prefix="loy:r"):
    reward_id: str


@dataclass(frozen=True)
class ConfirmRedeem(CallbackData, prefix="loy:y"):
    reward_id: str
    token: Annotated[str, Limit(12)]  # issued and stored by the bot (storage/redeem_tokens.py)


@dataclass(frozen=True)
class CancelRedeem(CallbackData, prefix="loy:n"):
    pass


@dataclass(frozen=True)
class CouponQr(CallbackData, prefix="loy:q"):
    coupon_id: int  # shown only to its own customer, while it is unused


# --- FAQ --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaqQuestion(CallbackData, prefix="faq"):
    entry_id: int


@dataclass(frozen=True)
class FaqVote(CallbackData, prefix="faqv"):
    entry_id: int
    helpful: bool


@dataclass(frozen=True)
class FaqHuman(CallbackData, prefix="faqh"):
    gap_id: int | None = None  # the unanswered question it carries, if any


@dataclass(frozen=True)
class FaqKeep(CallbackData, prefix="faqkeep"):
    pass


@dataclass(frozen=True)
class FaqCancel(CallbackData, prefix="faqcancel"):
    pass


@dataclass(frozen=True)
class FaqDelete(CallbackData, prefix="faqdel"):
    entry_id: int


@dataclass(frozen=True)
class FaqGapAnswer(CallbackData, prefix="faqgap"):
    gap_id: int  # "Answer this" under /faq gaps


# --- outreach ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastAction(CallbackData, prefix="bc"):
    action: Literal["go", "no", "stop", "test"]
    broadcast_id: int
