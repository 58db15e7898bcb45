"""Hand-off conversations: one open conversation per customer, and the relayed messages staff reply to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Handoff, HandoffMessage, HandoffState
from storage.typed import rowcount, saved_id, table_of
from storage.upsert import dialect_insert


async def open_handoff(session: AsyncSession, *, customer_id: int, now: datetime) -> tuple[Handoff, bool]:
    """The customer's open conversation, opening one if there is none; (conversation, created).

    One INSERT … ON CONFLICT on the unique open_customer_id: two racing hand-offs open one conversation.
    """
    statement = (
        dialect_insert(session, table_of(Handoff))
        .values(
            customer_id=customer_id,
            open_customer_id=customer_id,
            state=HandoffState.OPEN,
            opened_at=now,
            last_activity_at=now,
        )
        .on_conflict_do_nothing(index_elements=["open_customer_id"])
    )
    created = rowcount(await session.execute(statement)) == 1
    handoff = await open_handoff_of(session, customer_id=customer_id)
    if handoff is None:  # just inserted, or already open
        raise RuntimeError(f"customer {customer_id}'s open conversation missing after its upsert")
    return handoff, created


async def open_handoff_of(session: AsyncSession, *, customer_id: int) -> Handoff | None:
    result = await session.exec(select(Handoff).where(col(Handoff.open_customer_id) == customer_id))
    return result.first()


async def touch_handoff(session: AsyncSession, *, handoff_id: int, now: datetime) -> None:
    await session.execute(update(Handoff).where(col(Handoff.id) == handoff_id).values(last_activity_at=now))


async def close_handoff(
    session: AsyncSession, *, handoff_id: int, now: datetime, closed_by: int | None
) -> bool:
    """Close an open conversation; False when it was already closed (a single conditional UPDATE)."""
    result = await session.execute(
        update(Handoff)
        .where(col(Handoff.id) == handoff_id, col(Handoff.state) == HandoffState.OPEN)
        .values(state=HandoffState.CLOSED, open_customer_id=None, closed_at=now, closed_by=closed_by)
    )
    return rowcount(result) == 1


async def take_handoff(session: AsyncSession, *, handoff_id: int, staff_id: int, staff_name: str) -> bool:
    """The first staff member to answer an open conversation holds it; False when someone already does."""
    result = await session.execute(
        update(Handoff)
        .where(
            col(Handoff.id) == handoff_id,
            col(Handoff.state) == HandoffState.OPEN,
            col(Handoff.held_by).is_(None),
        )
        .values(held_by=staff_id, held_by_name=staff_name)
    )
    return rowcount(result) == 1


async def remember_relay(
    session: AsyncSession, *, handoff_id: int, chat_id: int, message_id: int, now: datetime
) -> None:
    statement = (
        dialect_insert(session, table_of(HandoffMessage))
        .values(handoff_id=handoff_id, chat_id=chat_id, message_id=message_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["chat_id", "message_id"])
    )
    await session.execute(statement)


async def handoff_of_relay(session: AsyncSession, *, chat_id: int, message_id: int) -> Handoff | None:
    """The conversation a relayed support-chat message belongs to (open or closed)."""
    statement = (
        select(Handoff)
        .join(HandoffMessage, col(HandoffMessage.handoff_id) == Handoff.id)
        .where(col(HandoffMessage.chat_id) == chat_id, col(HandoffMessage.message_id) == message_id)
    )
    return (await session.exec(statement)).first()


async def close_for_forgotten(session: AsyncSession, *, customer_id: int, now: datetime) -> None:
    """/forgetme: the customer's open conversation ends (nobody is left to relay to)."""
    handoff = await open_handoff_of(session, customer_id=customer_id)
    if handoff is not None:
        await close_handoff(session, handoff_id=saved_id(handoff), now=now, closed_by=None)
