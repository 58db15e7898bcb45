"""What a customer's answer does: the score tap (once per survey, while it is open), the "why?" that follows
(a free-text reason or Skip), the optional points reward, and the detractor alert to the shop team."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from telegram.error import TelegramError

from bot.context import AppEnv
from bot.surveys.service import SCALES, in_scale
from storage import surveys as store
from storage.customers import get_customer
from storage.models import Customer, Survey, SurveyKind
from storage.points import add_points
from storage.typed import saved_id

logger = logging.getLogger(__name__)

REASON_MAX_CHARS = 1000
# Row ids are 32-bit integers; a larger id in button data is forged and PostgreSQL would refuse the query.
MAX_ROW_ID = 2**31 - 1
# Scores at or below these are detractors the shop team hears about at once.
DETRACTOR_MAX: dict[str, int] = {SurveyKind.NPS: 6, SurveyKind.CSAT: 2}


class TapStatus(StrEnum):
    ANSWERED = "answered"
    DUPLICATE = "duplicate"
    CLOSED = "closed"
    UNAVAILABLE = "unavailable"  # not this user's survey, or a forged score


@dataclass
class Tap:
    status: TapStatus
    survey: Survey | None = None
    customer: Customer | None = None
    reward: int = 0


def is_detractor(kind: str, score: int) -> bool:
    limit = DETRACTOR_MAX.get(kind)
    return limit is not None and score <= limit


async def answer(
    env: AppEnv,
    *,
    customer: Customer | None,
    survey_id: int,
    score: int,
    chat_id: int | None = None,
    message_id: int | None = None,
) -> Tap:
    """Record a score tap; a second tap, a closed survey or someone else's survey changes nothing.

    `chat_id`/`message_id` name the tapped message (it becomes the "why?"): kept when the survey has none
    yet, e.g. a question resent by the outbox after a crash, so replies to it are recognised.
    """
    now = env.clock.now()
    settings = env.settings
    if survey_id > MAX_ROW_ID:
        return Tap(TapStatus.UNAVAILABLE)
    if customer is None:  # someone the bot does not know tapped a forwarded question
        return Tap(TapStatus.UNAVAILABLE)
    async with env.writing() as session:
        survey = await store.lock_survey(session, survey_id=survey_id)
        if survey is None or survey.customer_id != customer.id:
            return Tap(TapStatus.UNAVAILABLE)
        if not in_scale(survey.kind, score):
            return Tap(TapStatus.UNAVAILABLE, survey, customer)
        if survey.answered_at is not None:
            return Tap(TapStatus.DUPLICATE, survey, customer)
        if now >= survey.expires_at:
            return Tap(TapStatus.CLOSED, survey, customer)
        reason_until = min(survey.expires_at, now + timedelta(hours=settings.survey_reason_hours))
        if survey.message_id is None and message_id is not None:
            survey.chat_id, survey.message_id = chat_id, message_id
        if not await store.record_answer(
            session, survey=survey, score=score, answered_at=now, reason_until=reason_until
        ):
            return Tap(TapStatus.DUPLICATE, survey, customer)
        reward = 0
        if settings.survey_reward_points > 0 and await add_points(
            session,
            customer_id=customer.id,
            delta=settings.survey_reward_points,
            kind="survey",
            key=f"survey:{survey.id}",
            available_at=now,
        ):
            reward = settings.survey_reward_points
    return Tap(TapStatus.ANSWERED, survey, customer, reward)


async def close_reason(
    env: AppEnv,
    *,
    telegram_id: int,
    reason: str | None,
    survey_id: int | None = None,
    reply_to: int | None = None,
) -> tuple[Survey, Customer] | None:
    """Take the reason (None = Skip) for the survey awaiting one; None when nothing was awaiting it.

    With `survey_id` (the Skip button) only that survey is closed. Free text sent as a reply to a "why?"
    message (`reply_to`) is that survey's reason; other free text is the reason of the most recent survey
    only within SURVEY_REASON_FREE_TEXT_MINUTES of its score, so a later, unrelated question is not taken.
    """
    now = env.clock.now()
    if survey_id is not None and survey_id > MAX_ROW_ID:
        return None
    async with env.writing() as session:
        customer = await get_customer(session, telegram_id=telegram_id)
        if customer is None:
            return None
        survey = await store.awaiting_reason(
            session, customer_id=saved_id(customer), now=now, survey_id=survey_id, message_id=reply_to
        )
        if survey is None:
            return None
        free_text = survey_id is None and reply_to is None
        window = timedelta(minutes=env.settings.survey_reason_free_text_minutes)
        if free_text and (survey.answered_at is None or now >= survey.answered_at + window):
            return None
        if reason is not None:
            reason = reason.strip()[:REASON_MAX_CHARS]
        await store.close_reason(session, survey=survey, reason=reason)
    return survey, customer


async def reason_closed(env: AppEnv, *, telegram_id: int, survey_id: int) -> bool:
    """Whether this customer's survey stopped waiting for its "why?" because its time ran out (a late
    Skip), as opposed to a reason or Skip already received."""
    if survey_id > MAX_ROW_ID:
        return False
    async with env.reading() as session:
        customer = await get_customer(session, telegram_id=telegram_id)
        survey = await store.get_survey(session, survey_id=survey_id)
    return (
        customer is not None
        and survey is not None
        and survey.customer_id == customer.id
        and survey.awaiting_reason_until is not None
        and survey.awaiting_reason_until <= env.clock.now()
    )


async def alert_merchants(
    env: AppEnv, template: str, *, survey: Survey, customer: Customer, reason: str | None = None
) -> None:
    """Tell every merchant chat about a detractor; one blocked chat does not stop the others."""
    if survey.score is None or not is_detractor(survey.kind, survey.score):
        return
    values = {
        "name": customer.display_name,
        "telegram_id": customer.telegram_id,
        "username": customer.username,
        "kind": survey.kind.upper(),
        "score": survey.score,
        "top": SCALES[survey.kind][1],
        "reason": reason,
    }
    # Each merchant in the language they chose in the bot (if they ever used it), else the shop's.
    locales = {}
    async with env.reading() as session:
        for chat_id in env.settings.merchant_ids:
            merchant = await get_customer(session, telegram_id=chat_id)
            locales[chat_id] = merchant.locale if merchant is not None else env.settings.default_locale
    for chat_id in env.settings.merchant_ids:
        text = env.templates.render(locales[chat_id], template, **values)
        try:
            await env.bot.send_message(chat_id, text, parse_mode="HTML")
        except TelegramError:
            logger.warning("Could not alert merchant %s about survey %s", chat_id, survey.id, exc_info=True)
