"""Sending a survey: the eligibility rules (reachable, opted in, throttled per type), the message with its
one-tap buttons, and what Telegram's answer means for the customer.

`request_survey` is the public entry point: the scheduled triggers, the /survey command and other features
(the FAQ and hand-off sending a CES) all go through it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import Forbidden, TelegramError

from bot.callback_kinds import SurveyScore, SurveySkip
from bot.context import AppEnv, env_of
from bot.outreach.dispatcher import send_now
from storage import surveys as store
from storage.customers import get_customer_by_id
from storage.models import Campaign, Customer, Survey, SurveyKind
from storage.points import lock_customer
from storage.typed import saved_id

logger = logging.getLogger(__name__)

# The scale of each survey: (lowest, highest) score, and how its buttons are laid out in rows.
SCALES: dict[str, tuple[int, int]] = {
    SurveyKind.NPS: (0, 10),
    SurveyKind.CSAT: (1, 5),
    SurveyKind.CES: (1, 7),
}
ROWS: dict[str, tuple[range, ...]] = {
    SurveyKind.NPS: (range(0, 6), range(6, 11)),
    SurveyKind.CSAT: (range(1, 6),),
    SurveyKind.CES: (range(1, 8),),
}


class Outcome(StrEnum):
    SENT = "sent"
    THROTTLED = "throttled"
    OPTED_OUT = "opted_out"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"  # no such customer, or not linked to Telegram
    DUPLICATE = "duplicate"  # this order already has its survey
    FAILED = "failed"


def in_scale(kind: str, score: int) -> bool:
    low, high = SCALES[kind]
    return low <= score <= high


def score_keyboard(env: AppEnv, locale: str, survey: Survey) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    env.templates.label(locale, "surveys/buttons.html", "score", value=score),
                    callback_data=SurveyScore(saved_id(survey), score).pack(),
                )
                for score in row
            ]
            for row in ROWS[survey.kind]
        ]
    )


def skip_keyboard(env: AppEnv, locale: str, survey: Survey) -> InlineKeyboardMarkup:
    label = env.templates.label(locale, "surveys/buttons.html", "skip")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=SurveySkip(saved_id(survey)).pack())]]
    )


def eligibility(env: AppEnv, customer: Customer, last_sent: Any) -> Outcome | None:
    """Why this known, linked customer may not get the survey now, or None when they may."""
    if not customer.marketing_opt_in:
        return Outcome.OPTED_OUT
    if not customer.reachable:
        return Outcome.UNREACHABLE
    throttle = timedelta(days=env.settings.survey_throttle_days)
    if last_sent is not None and env.clock.now() - last_sent < throttle:
        return Outcome.THROTTLED
    return None


async def deliver(
    env: AppEnv, *, survey: Survey, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup
) -> Message:
    """The one place a survey leaves the bot: through the outreach outbox (recorded once per survey,
    paced with the bulk sends, resent if the bot dies mid-send)."""
    return await send_now(
        env,
        customer_id=survey.customer_id,
        chat_id=chat_id,
        campaign=Campaign.SURVEY,
        occurrence=str(survey.id),
        text=text,
        reply_markup=reply_markup,
    )


async def request_survey(
    source: Any, *, customer_id: int, kind: str, trigger: str, order_id: int | None = None
) -> Outcome:
    """Send survey `kind` to a customer if the rules allow it; returns what happened.

    The survey row is reserved (and so counts for throttling) before the message is sent, in its own short
    transaction with the customer locked, so racing triggers cannot send the same type twice.
    """
    env = env_of(source)
    kind = SurveyKind(kind)
    now = env.clock.now()
    async with env.writing() as session:
        customer = await lock_customer(session, customer_id=customer_id)
        last_sent = await store.last_sent_at(session, customer_id=customer_id, kind=kind)
        if customer is None or customer.telegram_id is None:
            return Outcome.UNKNOWN
        refusal = eligibility(env, customer, last_sent)
        if refusal is not None:
            return refusal
        survey = await store.reserve_survey(
            session,
            customer_id=customer_id,
            kind=kind,
            trigger=trigger,
            sent_at=now,
            expires_at=now + timedelta(days=env.settings.survey_validity_days),
            order_id=order_id,
        )
        if survey is None:
            return Outcome.DUPLICATE
        chat_id, locale = customer.telegram_id, customer.locale
    text = env.templates.render(locale, f"surveys/question_{kind}.html")
    try:
        message = await deliver(
            env, survey=survey, chat_id=chat_id, text=text, reply_markup=score_keyboard(env, locale, survey)
        )
    except Forbidden:
        logger.info("Customer %s blocked the bot; survey %s not delivered", customer_id, survey.id)
        await _record_failure(env, survey_id=saved_id(survey), customer_id=customer_id, unreachable=True)
        return Outcome.UNREACHABLE
    except TelegramError:
        logger.warning("Survey %s to customer %s failed", survey.id, customer_id, exc_info=True)
        await _record_failure(env, survey_id=saved_id(survey), customer_id=customer_id, unreachable=False)
        return Outcome.FAILED
    async with env.writing() as session:
        await store.mark_sent(
            session, survey_id=saved_id(survey), chat_id=chat_id, message_id=message.message_id
        )
    return Outcome.SENT


async def _record_failure(env: AppEnv, *, survey_id: int, customer_id: int, unreachable: bool) -> None:
    async with env.writing() as session:
        await store.mark_failed(session, survey_id=survey_id)
        if unreachable:
            customer = await get_customer_by_id(session, customer_id=customer_id)
            if customer is not None:
                customer.reachable = False
                session.add(customer)
