"""FAQ for customers: /faq (top questions as buttons), answers to free text, "Did this help?" votes, and the
way to a human (/human, a button, or 👎)."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.callback_kinds import FaqHuman, FaqQuestion, FaqVote
from bot.callbacks import ButtonHandler
from bot.context import BotContext, env_of
from bot.faq import admin_handlers as faq_admin
from bot.faq import handoff, library, matching
from bot.replies import answer_inactive, reply
from bot.surveys.jobs import request_survey_later
from bot.unit_of_work import handles
from bot.updates import query_of, user_of
from storage import faq as store
from storage import faq_votes
from storage.models import Customer, FaqEntry, HandoffState, SurveyKind, SurveyTrigger
from storage.typed import saved_id

logger = logging.getLogger(__name__)

CUSTOMER_COMMANDS = ("faq", "human")
MERCHANT_COMMANDS: tuple[str, ...] = ()

BUTTONS = "faq/buttons.html"
LABEL_MAX = 60  # a button label longer than this is cut (Telegram shows about that much on a phone)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def question_buttons(entries: list[FaqEntry]) -> list[list[InlineKeyboardButton]]:
    return [
        [InlineKeyboardButton(_short(entry.question), callback_data=FaqQuestion(saved_id(entry)).pack())]
        for entry in entries
    ]


def human_button(context: BotContext, locale: str, gap_id: int | None = None) -> list[InlineKeyboardButton]:
    data = FaqHuman(gap_id).pack()
    return [InlineKeyboardButton(context.templates.label(locale, BUTTONS, "human"), callback_data=data)]


async def customer_of(update: Update, context: BotContext) -> Customer:
    """The customer behind this update (FAQ's handlers join, so the first step has resolved it)."""
    customer = context.customer
    if customer is None:
        raise RuntimeError("an FAQ handler ran without its customer")
    return customer


@handles(writes=False, joins=True)
async def show_faq(update: Update, context: BotContext) -> None:
    """/faq: the most asked questions as buttons; /faq <subcommand> is the merchants' FAQ editor."""
    args = context.args or []
    if args and (faq_admin.is_editor_command(args) or context.settings.is_merchant(user_of(update).id)):
        await faq_admin.manage_faq(update, context)
        return
    if args and await consume_question(update, context, text=" ".join(args)):
        return  # "/faq delivery time" is a question too
    env = env_of(context)
    await library.ensure_seeded(env, context.bot_data)
    await library.flush_hits(env, context.bot_data)  # the ranking counts the latest answers
    locale = context.locale
    async with context.uow.reading() as session:
        entries = await store.top_entries(session, locale=locale, limit=context.settings.faq_top_questions)
    keyboard = [*question_buttons(entries), human_button(context, locale)]
    template = "faq/top.html" if entries else "faq/empty.html"
    await reply(update, context, template, locale=locale, reply_markup=InlineKeyboardMarkup(keyboard))


async def send_answer(update: Update, context: BotContext, entry: FaqEntry, locale: str) -> None:
    """The canned answer, ending with "Did this help?" and its 👍/👎 buttons."""
    library.count_hit(context.bot_data, saved_id(entry))  # written in bulk: an answer takes no write lock
    label = context.templates.label
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label(locale, BUTTONS, vote), callback_data=FaqVote(saved_id(entry), up).pack()
                )
                for vote, up in (("helpful", True), ("unhelpful", False))
            ]
        ]
    )
    await reply(
        update,
        context,
        "faq/answer.html",
        locale=locale,
        reply_markup=keyboard,
        question=entry.question,
        answer=entry.answer,
    )


@handles(writes=False, joins=True)
async def tap_question(update: Update, context: BotContext) -> None:
    """A question button: send its answer."""
    query = query_of(update)
    entry_id = FaqQuestion.of(update).entry_id
    locale = context.locale
    async with context.uow.reading() as session:
        entry = await store.get_entry(session, entry_id=entry_id)
    if entry is None:
        await query.answer(context.templates.text(locale, "faq/gone.html"))
        return
    await query.answer()
    await send_answer(update, context, entry, locale)


@handles(writes=True, joins=True)
async def tap_vote(update: Update, context: BotContext) -> None:
    """👍 thanks (and asks for a CES a little later); 👎 hands the question over to the shop team.

    One vote per customer and answer message (storage/faq_votes.py): a second tap of the same button (a
    double tap) keeps the vote and sends nothing again; the other button changes it.
    """
    query = query_of(update)
    button = FaqVote.of(update)
    customer = await customer_of(update, context)
    answer = query.message
    async with context.uow.writing() as session:
        entry = await store.get_entry(session, entry_id=button.entry_id)
        if entry is None or answer is None:  # a deleted entry's button (or one on no message): no vote
            earlier = None
        else:
            earlier = await faq_votes.cast_vote(
                session,
                entry_id=saved_id(entry),
                customer_id=saved_id(customer),
                chat_id=answer.chat.id,
                message_id=answer.message_id,
                helpful=button.helpful,
                now=context.clock.now(),
            )
    if entry is None or answer is None:
        await answer_inactive(update, context)
        return
    if earlier is not None:  # a second tap on this answer: no second thank-you, survey or hand-off
        template = "faq/vote_kept.html" if earlier == button.helpful else "faq/vote_changed.html"
        await query.answer(context.templates.text(customer.locale, template))
        if earlier == button.helpful or button.helpful:
            return
    else:
        await query.answer()
    try:  # the vote is in: the buttons go away (a tap already on its way is counted once)
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        logger.debug("Could not remove the vote buttons", exc_info=True)
    if button.helpful:
        await reply(update, context, "faq/glad.html", locale=customer.locale)
        request_survey_later(
            context, customer_id=saved_id(customer), kind=SurveyKind.CES, trigger=SurveyTrigger.FAQ
        )
        return
    await hand_off(update, context, customer, topic=entry.question)


@handles(writes=True, joins=True)
async def tap_human(update: Update, context: BotContext) -> None:
    """The "Talk to a person" button, carrying the unanswered question when there was one."""
    query = query_of(update)
    gap_id = FaqHuman.of(update).gap_id
    await query.answer()
    customer = await customer_of(update, context)
    topic = None
    if gap_id is not None:
        async with context.uow.reading() as session:
            gap = await store.get_gap(session, gap_id=gap_id)
        # Only their own question: a forged button must not pass someone else's words on as theirs.
        topic = gap.text if gap is not None and gap.customer_id == customer.id else None
    await hand_off(update, context, customer, topic=topic)


@handles(writes=True, joins=True)
async def ask_human(update: Update, context: BotContext) -> None:
    """/human: open a conversation with the shop team."""
    await hand_off(update, context, await customer_of(update, context), topic=None)


async def hand_off(update: Update, context: BotContext, customer: Customer, *, topic: str | None) -> None:
    """Open a conversation with the shop team and tell the customer how it works."""
    env = env_of(context)
    conversation, opened = await handoff.open_for(env, customer=customer, topic=topic)
    if opened:
        template = "faq/handoff_opened.html"
    elif conversation.state == HandoffState.OPEN:
        template = "faq/handoff_already.html"
        if topic and topic.strip():  # a new question (👎 on another answer) must reach staff as well
            await handoff.relay_text(env, conversation, customer=customer, text=topic.strip())
    else:
        template = "faq/handoff_unavailable.html"
    await reply(update, context, template, locale=customer.locale)


async def consume_question(update: Update, context: BotContext, *, text: str | None = None) -> bool:
    """Free text: answer from the FAQ, offer the two closest questions, or offer a person (a gap)."""
    message = update.effective_message
    if text is None:
        text = (message.text or "") if message else ""
    text = text.strip()
    if not matching.normalize(text) or update.effective_user is None:
        return False  # emoji or punctuation only: nothing to look up
    env = env_of(context)
    customer = await customer_of(update, context)
    locale = customer.locale
    found = await library.find(env, context.bot_data, text)
    if not found and matching.wants_human(text):
        await hand_off(update, context, customer, topic=text)
        return True
    if len(found) == 1:
        await send_answer(update, context, found[0], locale)
        return True
    if found:
        keyboard = [*question_buttons(found), human_button(context, locale)]
        await reply(
            update, context, "faq/choose.html", locale=locale, reply_markup=InlineKeyboardMarkup(keyboard)
        )
        return True
    async with context.uow.writing() as session:
        gap_id = await store.record_gap(
            session,
            locale=locale,
            text=text,  # whole: "Talk to a person" relays it to staff (/faq gaps shows the start)
            normalized=matching.normalize(text)[: library.QUESTION_MAX],
            asked_at=context.clock.now(),
            customer_id=customer.id,
        )
    markup = InlineKeyboardMarkup([human_button(context, locale, gap_id)])
    await reply(update, context, "faq/no_match.html", locale=locale, reply_markup=markup)
    return True


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("faq", show_faq),
        CommandHandler("human", ask_human, filters=filters.ChatType.PRIVATE),
        ButtonHandler(tap_question, FaqQuestion),
        ButtonHandler(tap_vote, FaqVote),
        ButtonHandler(tap_human, FaqHuman),
    ]
