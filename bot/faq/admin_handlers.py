"""The merchants' FAQ editor: /faq list|add|edit|delete|gaps|cancel. Adding and editing take a few steps
(question, phrasings, answer), each with Cancel; editing also offers Keep for the current text.

The step in progress is kept in the merchant's user_data (memory) for DRAFT_MINUTES: a restart drops it and
the merchant starts again. Only merchants' text is ever read as a step, so it cannot be confused with a
customer's question.
"""

from __future__ import annotations

import re
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler

from bot.callback_kinds import FaqCancel, FaqDelete, FaqGapAnswer, FaqKeep
from bot.callbacks import ButtonHandler, parse_id
from bot.context import BotContext, env_of
from bot.faq import gap_answers, library
from bot.formatting import latin_digits
from bot.merchants import merchant_only
from bot.replies import edit_or_reply, reply, user_locale
from bot.settings import LOCALES
from bot.updates import query_of, user_data_of
from storage import faq as store
from storage import faq_votes
from storage.faq import EntryData
from storage.faq_votes import VoteCounts
from storage.typed import saved_id

DRAFT = "faq_draft"
DRAFT_MINUTES = 30
STEPS = ("question", "phrasings", "answer")
LIST_PAGE = 10  # entries per message: ten long questions stay under Telegram's 4096 characters
BUTTONS = "faq/buttons.html"
NONE = "-"


# The editor's exact forms: a customer typing them is refused, while "/faq cancel my order", "/faq delete
# my account" or a bare "/faq cancel" from a customer are questions like any other.
EDITOR_FORMS = re.compile(r"^(list( [a-z]{2})?|gaps|add [a-z]{2} \S+|(edit|delete) \d+)$")


def is_editor_command(args: list[str]) -> bool:
    return EDITOR_FORMS.match(" ".join(args).lower()) is not None


def step_keyboard(context: BotContext, locale: str, *, keep: bool) -> InlineKeyboardMarkup:
    label = context.templates.label
    row = [InlineKeyboardButton(label(locale, BUTTONS, "cancel"), callback_data=FaqCancel().pack())]
    if keep:
        row.insert(0, InlineKeyboardButton(label(locale, BUTTONS, "keep"), callback_data=FaqKeep().pack()))
    return InlineKeyboardMarkup([row])


def live_draft(context: BotContext) -> dict | None:
    user_data = context.user_data
    draft = user_data.get(DRAFT) if user_data is not None else None
    if user_data is None or draft is None:
        return None
    if context.clock.now() > draft["expires_at"]:
        user_data.pop(DRAFT, None)
        return None
    return draft


async def ask_step(update: Update, context: BotContext, draft: dict) -> None:
    """Prompt for the draft's current step, showing the current text when editing."""
    step = draft["step"]
    draft["expires_at"] = context.clock.now() + timedelta(minutes=DRAFT_MINUTES)
    current = draft.get(step)  # editing, or a question filled in from /faq gaps
    if isinstance(current, list):
        current = "\n".join(current) or NONE
    await reply(
        update,
        context,
        f"faq/admin_ask_{step}.html",
        reply_markup=step_keyboard(
            context, await user_locale(context, update.effective_user), keep=bool(current)
        ),
        code=draft["code"],
        entry_locale=draft["locale"],
        current=current,
    )


@merchant_only
async def manage_faq(update: Update, context: BotContext) -> None:
    """/faq list|add|edit|delete|gaps|cancel (merchants)."""
    args = [latin_digits(arg) for arg in context.args or []]  # `/faq edit ١٢` is entry 12
    command, rest = args[0].lower(), args[1:]
    action = {
        "list": list_entries,
        "add": start_add,
        "edit": start_edit,
        "delete": ask_delete,
        "gaps": show_gaps,
        "cancel": cancel_draft,
    }.get(command)
    if action is None:
        await reply(update, context, "faq/admin_usage.html")
        return
    await library.ensure_seeded(env_of(context), context.bot_data)
    await action(update, context, rest)


async def list_entries(update: Update, context: BotContext, args: list[str]) -> None:
    """Every entry (optionally one locale) with id, code, votes (people, not taps) and phrasings count, in
    pages."""
    locale = args[0].lower() if args else None
    if locale is not None and locale not in LOCALES:
        await reply(update, context, "faq/admin_usage.html")
        return
    async with context.uow.reading() as session:
        entries = await store.list_entries(session, locale=locale)
        counted = await faq_votes.vote_counts(session, entry_ids=[saved_id(entry) for entry in entries])
    votes = {saved_id(entry): counted.get(saved_id(entry), VoteCounts()) for entry in entries}
    if not entries:
        await reply(update, context, "faq/admin_empty.html")
        return
    for start in range(0, len(entries), LIST_PAGE):
        await reply(
            update, context, "faq/admin_list.html", entries=entries[start : start + LIST_PAGE], votes=votes
        )


async def start_add(update: Update, context: BotContext, args: list[str]) -> None:
    """/faq add <en|ar> <code>: start the steps for a new entry."""
    if len(args) != 2 or args[0].lower() not in LOCALES or not library.CODE.match(args[1].lower()):
        await reply(update, context, "faq/admin_usage.html")
        return
    locale, code = args[0].lower(), args[1].lower()
    async with context.uow.reading() as session:
        existing = await store.entry_by_code(session, code=code, locale=locale)
    if existing is not None and existing.locale == locale:
        await reply(update, context, "faq/admin_exists.html", entry_id=existing.id, code=code)
        return
    draft = {"action": "add", "locale": locale, "code": code, "step": STEPS[0]}
    user_data_of(context)[DRAFT] = draft
    await ask_step(update, context, draft)


async def start_edit(update: Update, context: BotContext, args: list[str]) -> None:
    """/faq edit <id>: walk through the entry's texts, keeping or replacing each."""
    entry = await _entry_from(update, context, args)
    if entry is None:
        return
    draft = {
        "action": "edit",
        "entry_id": entry.id,
        "locale": entry.locale,
        "code": entry.code,
        "step": STEPS[0],
        "question": entry.question,
        "phrasings": entry.phrasing_list,
        "answer": entry.answer,
    }
    user_data_of(context)[DRAFT] = draft
    await ask_step(update, context, draft)


async def _entry_from(update: Update, context: BotContext, args: list[str]):
    entry_id = parse_id(args[0]) if len(args) == 1 else None
    if entry_id is None:
        await reply(update, context, "faq/admin_usage.html")
        return None
    async with context.uow.reading() as session:
        entry = await store.get_entry(session, entry_id=entry_id)
    if entry is None:
        await reply(update, context, "faq/admin_not_found.html", entry_id=args[0])
    return entry


async def ask_delete(update: Update, context: BotContext, args: list[str]) -> None:
    """/faq delete <id>: confirm with buttons first."""
    entry = await _entry_from(update, context, args)
    if entry is None:
        return
    locale = await user_locale(context, update.effective_user)
    label = context.templates.label
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label(locale, BUTTONS, "delete"), callback_data=FaqDelete(saved_id(entry)).pack()
                ),
                InlineKeyboardButton(label(locale, BUTTONS, "cancel"), callback_data=FaqCancel().pack()),
            ]
        ]
    )
    await reply(update, context, "faq/admin_confirm_delete.html", reply_markup=keyboard, entry=entry)


async def show_gaps(update: Update, context: BotContext, args: list[str]) -> None:
    """/faq gaps: questions that found no answer lately, most asked first."""
    days = context.settings.faq_gaps_days
    async with context.uow.reading() as session:
        gaps = await store.gap_summary(session, since=context.clock.now() - timedelta(days=days), limit=30)
    markup = gap_answers.answer_buttons(context, await user_locale(context, update.effective_user), gaps)
    await reply(update, context, "faq/admin_gaps.html", reply_markup=markup, gaps=gaps, days=days)


async def tap_answer_gap(update: Update, context: BotContext) -> None:
    """ "Answer this" under /faq gaps: the add steps, with the customer's question as the question."""
    query = query_of(update)
    locale = await user_locale(context, update.effective_user)
    if not context.settings.is_merchant(query.from_user.id):
        await query.answer(context.templates.text(locale, "common/merchants_only.html"), show_alert=True)
        return
    gap_id = FaqGapAnswer.of(update).gap_id
    async with context.uow.reading() as session:
        gap = await store.get_gap(session, gap_id=gap_id)
    if gap is None:  # answered since, or erased by /forgetme
        await query.answer(context.templates.text(locale, "faq/admin_gap_gone.html"), show_alert=True)
        return
    await query.answer()
    draft = await gap_answers.draft_for(context, gap)
    user_data_of(context)[DRAFT] = draft
    await ask_step(update, context, draft)


async def cancel_draft(update: Update, context: BotContext, args: list[str]) -> None:
    """/faq cancel: drop the entry being added or edited."""
    had = user_data_of(context).pop(DRAFT, None) is not None
    await reply(update, context, "faq/admin_cancelled.html" if had else "faq/admin_nothing.html")


@merchant_only
async def tap_cancel(update: Update, context: BotContext) -> None:
    """Cancel: the whole draft, or a pending delete."""
    await query_of(update).answer()
    user_data_of(context).pop(DRAFT, None)
    await edit_or_reply(update, context, "faq/admin_cancelled.html")


@merchant_only
async def tap_keep(update: Update, context: BotContext) -> None:
    """Keep the current text of the step being edited."""
    query = query_of(update)
    await query.answer()
    draft = live_draft(context)
    if draft is None or draft.get(draft["step"]) is None:  # editing, or a question filled in from a gap
        await edit_or_reply(update, context, "faq/admin_nothing.html")
        return
    await _remove_buttons(query)
    await advance(update, context, draft, draft[draft["step"]])


@merchant_only
async def confirm_delete(update: Update, context: BotContext) -> None:
    """Delete the entry the merchant confirmed."""
    query = query_of(update)
    await query.answer()
    entry_id = FaqDelete.of(update).entry_id
    async with context.uow.writing() as session:
        deleted = await store.delete_entry(session, entry_id=entry_id)
    library.forget_pool(context.bot_data)
    template = "faq/admin_deleted.html" if deleted else "faq/admin_not_found.html"
    await edit_or_reply(update, context, template, entry_id=entry_id)


async def _remove_buttons(query) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        pass  # the prompt is old or already edited; the next prompt follows anyway


def parse_step(step: str, text: str) -> str | list[str] | None:
    """The value a merchant's text gives a step, or None when it is unusable."""
    text = text.strip()
    if step == "phrasings":
        if text == NONE:
            return []
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines if all(len(line) <= library.QUESTION_MAX for line in lines) else None
    limit = library.QUESTION_MAX if step == "question" else library.ANSWER_MAX
    return text if 0 < len(text) <= limit else None


async def consume_draft(update: Update, context: BotContext) -> bool:
    """A merchant's text while adding or editing an entry is the answer to the current step."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or not context.settings.is_merchant(user.id):
        return False
    draft = live_draft(context)
    if draft is None:
        return False
    value = parse_step(draft["step"], message.text or "")
    if value is None:
        await reply(update, context, "faq/admin_bad_text.html", step=draft["step"])
        return True
    await advance(update, context, draft, value)
    return True


async def advance(update: Update, context: BotContext, draft: dict, value: str | list[str]) -> None:
    """Store the step's value; ask the next step, or save the entry after the last."""
    draft[draft["step"]] = value
    index = STEPS.index(draft["step"])
    if index + 1 < len(STEPS):
        draft["step"] = STEPS[index + 1]
        await ask_step(update, context, draft)
        return
    if not isinstance(value, str):  # the last step is the answer, which is one text
        raise TypeError(f"FAQ answer must be a text, not {type(value).__name__}")
    user_data_of(context).pop(DRAFT, None)
    now = context.clock.now()
    async with context.uow.writing() as session:
        if draft["action"] == "add":
            data = EntryData(
                draft["code"], draft["locale"], draft["question"], tuple(draft["phrasings"]), value
            )
            await store.upsert_entry(session, data=data, now=now)
            saved = await store.entry_by_code(session, code=draft["code"], locale=draft["locale"])
            if "gap" in draft:
                await store.forget_answered_gaps(
                    session, locale=draft["gap"]["locale"], normalized=draft["gap"]["normalized"]
                )
        else:
            updated = await store.update_entry(
                session,
                entry_id=draft["entry_id"],
                question=draft["question"],
                phrasings=draft["phrasings"],
                answer=value,
                now=now,
            )
            saved = await store.get_entry(session, entry_id=draft["entry_id"]) if updated else None
    library.forget_pool(context.bot_data)
    if saved is None:
        await reply(update, context, "faq/admin_not_found.html", entry_id=draft.get("entry_id"))
        return
    await reply(update, context, "faq/admin_saved.html", entry=saved)


def handlers() -> list[BaseHandler]:
    return [
        ButtonHandler(tap_keep, FaqKeep),
        ButtonHandler(tap_cancel, FaqCancel),
        ButtonHandler(confirm_delete, FaqDelete),
        ButtonHandler(tap_answer_gap, FaqGapAnswer),
    ]
