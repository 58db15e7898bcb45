"""Surveys: one-tap score buttons, the "why?" follow-up (text or Skip), and the merchant's /survey command."""

from __future__ import annotations

import logging
from collections import Counter

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler

from bot.callback_kinds import SurveyScore, SurveySkip
from bot.callbacks import ButtonHandler
from bot.context import BotContext
from bot.formatting import latin_digits
from bot.merchants import merchant_only
from bot.replies import edit_or_reply, reply
from bot.surveys import answers
from bot.surveys.answers import TapStatus
from bot.surveys.service import (
    SCALES,
    Outcome,
    env_of,
    request_survey,
    skip_keyboard,
)
from bot.text_router import waiting
from bot.unit_of_work import handles
from bot.updates import query_of
from storage import surveys as store
from storage.customers import get_customer_by_id
from storage.loyalty import find_customer
from storage.models import SurveyKind, SurveyTrigger
from storage.typed import saved_id

logger = logging.getLogger(__name__)

CUSTOMER_COMMANDS: tuple[str, ...] = ()
MERCHANT_COMMANDS = ("survey",)

ALL = "all"
SKIPPED = (Outcome.THROTTLED, Outcome.OPTED_OUT, Outcome.UNREACHABLE, Outcome.UNKNOWN, Outcome.DUPLICATE)


async def toast(update: Update, context: BotContext, template: str) -> None:
    """Answer a button tap with a short notice that leaves the message as it is."""
    locale = context.locale
    await query_of(update).answer(context.templates.text(locale, template))


@handles(writes=True)
async def tap_score(update: Update, context: BotContext) -> None:
    """Record the tapped score once, then ask why (with a Skip button)."""
    query = query_of(update)
    button = SurveyScore.of(update)
    survey_id, score = button.survey_id, button.score
    env = env_of(context)
    tapped = query.message
    tap = await answers.answer(
        env,
        customer=context.customer,
        survey_id=survey_id,
        score=score,
        chat_id=tapped.chat.id if tapped else None,
        message_id=tapped.message_id if tapped else None,
    )
    survey, customer = tap.survey, tap.customer  # set on every tap but some unavailable ones
    if tap.status == TapStatus.UNAVAILABLE or survey is None or customer is None:
        await toast(update, context, "surveys/unavailable.html")
        return
    if tap.status == TapStatus.DUPLICATE:
        await toast(update, context, "surveys/already_answered.html")
        return
    locale = customer.locale
    if tap.status == TapStatus.CLOSED:
        await toast(update, context, "surveys/closed.html")
        try:  # take the dead buttons away; the toast already told the customer
            await edit_or_reply(update, context, "surveys/closed.html", locale=locale)
        except TelegramError:
            logger.debug("Could not close survey %s's message", survey.id, exc_info=True)
        return
    try:
        await query.answer()
        await edit_or_reply(
            update,
            context,
            "surveys/ask_reason.html",
            locale=locale,
            reply_markup=skip_keyboard(env, locale, survey),
            score=score,
            top=SCALES[survey.kind][1],
            reward=tap.reward,
        )
    finally:  # the score is stored: the shop team hears of a detractor even if the edit failed
        await answers.alert_merchants(env, "surveys/alert.html", survey=survey, customer=customer)


@handles(writes=True)
async def tap_skip(update: Update, context: BotContext) -> None:
    """Close the "why?" without a reason and thank the customer."""
    query = query_of(update)
    survey_id = SurveySkip.of(update).survey_id
    env = env_of(context)
    closed = await answers.close_reason(env, customer=context.customer, reason=None, survey_id=survey_id)
    if closed is None:
        if await answers.reason_closed(env, customer=context.customer, survey_id=survey_id):
            await toast(update, context, "surveys/reason_closed.html")
            try:  # the Skip button no longer does anything
                await query.edit_message_reply_markup(reply_markup=None)
            except TelegramError:
                logger.debug("Could not remove the late Skip button of survey %s", survey_id, exc_info=True)
            return
        await toast(update, context, "surveys/already_answered.html")
        return
    survey, customer = closed
    await query.answer()
    await edit_or_reply(update, context, "surveys/thanks.html", locale=customer.locale)
    await answers.alert_merchants(env, "surveys/alert_skipped.html", survey=survey, customer=customer)


async def consume_survey_reason(update: Update, context: BotContext) -> bool:
    """A reply to the "why?", or the first text soon after a score, is its reason; the rest is not ours."""
    message = update.effective_message
    if message is None or message.text is None or update.effective_user is None:
        return False
    pending = waiting(context)
    if pending is not None and not pending.survey:
        return False  # the text router already looked: no survey waits for its "why?"
    env = env_of(context)
    replied = message.reply_to_message
    closed = await answers.close_reason(
        env,
        customer=context.customer,
        reason=message.text,
        reply_to=replied.message_id if replied is not None else None,
    )
    if closed is None:
        return False
    survey, customer = closed
    await reply(update, context, "surveys/thanks.html", locale=customer.locale)
    if survey.chat_id is not None and survey.message_id is not None:
        try:  # the Skip button no longer applies
            await context.bot.edit_message_reply_markup(survey.chat_id, survey.message_id, reply_markup=None)
        except TelegramError:
            logger.debug("Could not remove the Skip button of survey %s", survey.id, exc_info=True)
    reason = message.text.strip()[: answers.REASON_MAX_CHARS]
    await answers.alert_merchants(
        env, "surveys/alert_reason.html", survey=survey, customer=customer, reason=reason
    )
    return True


async def resolve_target(session, target: str) -> list[int]:
    """Customer ids a /survey target names: "all", or one customer by member code, Telegram id or phone."""
    if target.lower() == ALL:
        return await store.contactable_customer_ids(session)
    customer = await find_customer(session, ref=target)
    return [saved_id(customer)] if customer is not None else []


@merchant_only
async def send_survey(update: Update, context: BotContext) -> None:
    """/survey <nps|csat|ces> [member code|telegram id|phone|all]: send a survey now (no target = all)."""
    args = [latin_digits(arg) for arg in context.args or []]  # a phone or id in Arabic-Indic digits too
    kinds = {kind.value for kind in SurveyKind}
    if len(args) not in (1, 2) or args[0].lower() not in kinds:
        await reply(update, context, "surveys/usage.html")
        return
    # No target means the whole shop, as `all` does: same throttle and opt-out, same summary replies.
    kind, target = SurveyKind(args[0].lower()), args[1] if len(args) == 2 else ALL
    async with context.uow.reading() as session:
        customer_ids = await resolve_target(session, target)
    if target.lower() == ALL:
        await reply(update, context, "surveys/started_all.html", kind=kind.upper(), count=len(customer_ids))
        context.application.create_task(send_to_all(update, context, kind, customer_ids), update=update)
        return
    if not customer_ids:
        await reply(
            update, context, "surveys/outcome.html", outcome=Outcome.UNKNOWN, kind=kind.upper(), name=target
        )
        return
    outcome = await request_survey(
        context, customer_id=customer_ids[0], kind=kind, trigger=SurveyTrigger.MERCHANT
    )
    async with context.uow.reading() as session:
        customer = await get_customer_by_id(session, customer_id=customer_ids[0])
    await reply(
        update,
        context,
        "surveys/outcome.html",
        outcome=outcome,
        kind=kind.upper(),
        name=customer.display_name if customer else target,
        days=context.settings.survey_throttle_days,
    )


async def send_to_all(update: Update, context: BotContext, kind: str, customer_ids: list[int]) -> None:
    """Send one survey type to many customers in the background, then report the tally to the merchant."""
    outcomes: Counter = Counter()
    for customer_id in customer_ids:
        try:
            outcome = await request_survey(
                context, customer_id=customer_id, kind=kind, trigger=SurveyTrigger.MERCHANT
            )
        except Exception:
            logger.exception("Survey %s to customer %s failed", kind, customer_id)
            outcome = Outcome.FAILED
        outcomes[outcome] += 1
    await reply(
        update,
        context,
        "surveys/finished_all.html",
        kind=kind.upper(),
        sent=outcomes[Outcome.SENT],
        skipped=sum(outcomes[outcome] for outcome in SKIPPED),
        failed=outcomes[Outcome.FAILED],
    )


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("survey", send_survey),
        ButtonHandler(tap_score, SurveyScore),
        ButtonHandler(tap_skip, SurveySkip),
    ]
