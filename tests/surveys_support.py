"""Shared steps for the survey tests: customers who started the bot, orders, surveys and what was stored."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from bot.context import BotContext
from bot.surveys.service import request_survey
from storage.customers import get_customer
from storage.models import Survey, SurveyResponse
from storage.orders import record_order
from tests.fakes import updates
from tests.fakes.updates import TgUser

JOHN = TgUser(id=6001, first_name="John", last_name="Doe", language_code="en")
AMIRA = TgUser(id=6002, first_name="أميرة", language_code="ar")
LEE = TgUser(id=6003, first_name="Lee", language_code="en")


async def started(harness, user: TgUser) -> int:
    """The user sends /start; returns their customer id."""
    await harness.send(updates.command(user, "/start"))
    async with harness.db.read_session() as session:
        return (await get_customer(session, telegram_id=user.id)).id


async def customer_of(harness, user: TgUser):
    async with harness.db.read_session() as session:
        return await get_customer(session, telegram_id=user.id)


async def order(harness, customer_id: int, external_id: str, ordered_at: datetime) -> int:
    async with harness.db.session() as session:
        stored, _ = await record_order(
            session,
            external_id=external_id,
            amount_minor=1500,
            currency="USD",
            ordered_at=ordered_at,
            customer_id=customer_id,
        )
        return stored.id


async def survey_now(harness, customer_id: int, kind: str, trigger: str = "merchant"):
    return await request_survey(harness.app, customer_id=customer_id, kind=kind, trigger=trigger)


def job_context(harness) -> BotContext:
    """The context a JobQueue callback gets."""
    return BotContext(harness.app)


async def surveys(harness) -> list[Survey]:
    async with harness.db.read_session() as session:
        return list((await session.exec(select(Survey).order_by(Survey.id))).all())


async def responses(harness) -> list[SurveyResponse]:
    async with harness.db.read_session() as session:
        return list((await session.exec(select(SurveyResponse).order_by(SurveyResponse.id))).all())


def score_data(harness, user: TgUser) -> dict[str, str]:
    """label -> callback data of the score buttons last sent to the user."""
    return dict(harness.buttons_to(user))


async def tap(harness, user: TgUser, data: str) -> None:
    await harness.send(updates.callback(user, data))


def last_toast(harness) -> str | None:
    return harness.api.sent("answerCallbackQuery")[-1].params.get("text")
