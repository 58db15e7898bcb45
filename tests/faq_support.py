"""Shared steps for the FAQ and hand-off tests: customers, FAQ entries, relayed messages and staff replies."""

from __future__ import annotations

import time

from sqlmodel import select

from bot.context import env_of
from bot.faq import library
from storage.models import FaqEntry, FaqGap, Handoff, HandoffMessage
from tests.fakes import updates
from tests.fakes.bot_api import BOT_ID, BOT_USERNAME
from tests.fakes.updates import TgUser

JOHN = TgUser(id=8001, first_name="John", language_code="en", username="johnd")
AMIRA = TgUser(id=8002, first_name="أميرة", language_code="ar")


async def seeded(harness) -> None:
    """Seed the FAQ from the sample file, as the bot does on first use."""
    await library.ensure_seeded(env_of(harness.app), harness.app.bot_data)


async def entry(harness, code: str, locale: str) -> FaqEntry:
    await seeded(harness)
    async with harness.db.read_session() as session:
        statement = select(FaqEntry).where(FaqEntry.code == code, FaqEntry.locale == locale)
        return (await session.exec(statement)).one()


async def entries(harness) -> list[FaqEntry]:
    async with harness.db.read_session() as session:
        return list((await session.exec(select(FaqEntry).order_by(FaqEntry.id))).all())


async def gaps(harness) -> list[FaqGap]:
    async with harness.db.read_session() as session:
        return list((await session.exec(select(FaqGap).order_by(FaqGap.id))).all())


async def handoffs(harness) -> list[Handoff]:
    async with harness.db.read_session() as session:
        return list((await session.exec(select(Handoff).order_by(Handoff.id))).all())


async def relayed_ids(source, chat_id: int) -> list[int]:
    """Message ids the bot relayed into this support chat, oldest first (`source`: a Harness or Database)."""
    async with getattr(source, "db", source).read_session() as session:
        statement = (
            select(HandoffMessage).where(HandoffMessage.chat_id == chat_id).order_by(HandoffMessage.id)
        )
        return [row.message_id for row in (await session.exec(statement)).all()]


def bot_message(chat: dict, message_id: int, text: str = "…") -> dict:
    """A message the bot sent, as Telegram embeds it in reply_to_message."""
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Shop", "username": BOT_USERNAME},
        "text": text,
    }


def staff_reply(
    staff: TgUser, replied_id: int, text: str | None = None, *, chat: dict | None = None, **extra
):
    """Staff answer by replying to the relayed message `replied_id` in their chat (private by default)."""
    chat = chat or updates.private_chat(staff)
    return updates.message(staff, text, chat=chat, reply_to_message=bot_message(chat, replied_id), **extra)


def tap_data(harness, user: TgUser) -> dict[str, str]:
    """label -> callback data of the buttons last sent to the user."""
    return dict(harness.buttons_to(user))
