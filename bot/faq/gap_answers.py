"""Turning an unanswered question (/faq gaps) into an FAQ entry: an "Answer this" button per gap opens the
editor's add steps with the customer's question filled in (Keep it, or send a better wording)."""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callback_kinds import FaqGapAnswer
from bot.context import BotContext
from bot.faq import library, matching
from storage import faq as store
from storage.faq import GapSummary
from storage.models import FaqGap
from storage.typed import saved_id

GAP_BUTTONS = 10  # the most asked gaps get a button; a keyboard of thirty is too long to use on a phone
LABEL_MAX = 48
_ASCII_WORD = re.compile(r"^[a-z0-9]+$")


def answer_buttons(context: BotContext, locale: str, gaps: list[GapSummary]) -> InlineKeyboardMarkup | None:
    """One "✏️ Answer this" button per listed gap (the most asked first)."""
    rows = []
    for gap in gaps[:GAP_BUTTONS]:
        question = gap.example if len(gap.example) <= LABEL_MAX else gap.example[: LABEL_MAX - 1] + "…"
        label = context.templates.label(locale, "faq/buttons.html", "answer_gap", question=question)
        rows.append([InlineKeyboardButton(label, callback_data=FaqGapAnswer(gap.gap_id).pack())])
    return InlineKeyboardMarkup(rows) if rows else None


async def new_code(context: BotContext, gap: FaqGap) -> str:
    """A free entry code from the question's Latin words ("sell_gift_cards"), else gap_<id>."""
    words = [word for word in matching.key_words(gap.text).split() if _ASCII_WORD.match(word)]
    base = "_".join(words)[:24].strip("_") or f"gap_{gap.id}"
    async with context.uow.reading() as session:
        for code in (base, f"{base}_{gap.id}"[:32]):
            existing = await store.entry_by_code(session, code=code, locale=gap.locale)
            if existing is None or existing.locale != gap.locale:
                return code
    return f"gap_{gap.id}"


async def draft_for(context: BotContext, gap: FaqGap) -> dict:
    """The editor's add draft for this gap: its language, a code, and the question already filled in."""
    return {
        "action": "add",
        "locale": gap.locale,
        "code": await new_code(context, gap),
        "step": "question",
        "question": gap.text.strip()[: library.QUESTION_MAX],
        # Once saved, the gaps of this wording leave /faq gaps: they have an answer now.
        "gap": {"locale": gap.locale, "normalized": gap.normalized, "id": saved_id(gap)},
    }
