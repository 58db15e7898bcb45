"""Customers' "Did this help?" votes on FAQ answers: one per customer and answer message, counted by
person."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import FaqAnswerVote
from storage.typed import rowcount, table_of
from storage.upsert import dialect_insert


@dataclass(frozen=True)
class VoteCounts:
    helpful: int = 0
    unhelpful: int = 0


async def cast_vote(
    session: AsyncSession,
    *,
    entry_id: int,
    customer_id: int,
    chat_id: int,
    message_id: int,
    helpful: bool,
    now: datetime,
) -> bool | None:
    """Record the customer's vote on this answer message; returns their earlier vote on it (None: first).

    The first vote is one INSERT … ON CONFLICT DO NOTHING, so two taps racing on two connections store one
    row; a later tap reads the row under a lock (PostgreSQL; SQLite's write transaction holds the database)
    and changes it only when the vote differs.
    """
    inserted = await session.execute(
        dialect_insert(session, table_of(FaqAnswerVote))
        .values(
            entry_id=entry_id,
            customer_id=customer_id,
            chat_id=chat_id,
            message_id=message_id,
            helpful=helpful,
            voted_at=now,
        )
        .on_conflict_do_nothing(index_elements=["customer_id", "chat_id", "message_id"])
    )
    if rowcount(inserted) == 1:
        return None
    statement = (
        select(FaqAnswerVote)
        .where(
            col(FaqAnswerVote.customer_id) == customer_id,
            col(FaqAnswerVote.chat_id) == chat_id,
            col(FaqAnswerVote.message_id) == message_id,
        )
        .with_for_update()
    )
    existing = (await session.exec(statement)).one()
    earlier = existing.helpful
    if earlier != helpful:
        await session.execute(
            update(FaqAnswerVote)
            .where(col(FaqAnswerVote.id) == existing.id)
            .values(helpful=helpful, voted_at=now)
        )
    return earlier


async def vote_counts(session: AsyncSession, *, entry_ids: Iterable[int]) -> dict[int, VoteCounts]:
    """People who found each entry helpful or not: a customer who voted on several answers of one entry
    counts once, with their latest vote."""
    ids = sorted(set(entry_ids))
    if not ids:
        return {}
    latest = (
        sa_select(
            col(FaqAnswerVote.entry_id),
            col(FaqAnswerVote.customer_id),
            func.max(FaqAnswerVote.id).label("last_id"),
        )
        .where(col(FaqAnswerVote.entry_id).in_(ids))
        .group_by(col(FaqAnswerVote.entry_id), col(FaqAnswerVote.customer_id))
        .subquery()
    )
    helpful = col(FaqAnswerVote.helpful)
    statement = (
        sa_select(
            col(FaqAnswerVote.entry_id),
            func.sum(case((helpful, 1), else_=0)),
            func.sum(case((helpful, 0), else_=1)),
        )
        .join(latest, col(FaqAnswerVote.id) == latest.c.last_id)
        .group_by(col(FaqAnswerVote.entry_id))
    )
    rows = (await session.execute(statement)).all()
    return {entry_id: VoteCounts(int(yes), int(no)) for entry_id, yes, no in rows}


async def forget_votes(session: AsyncSession, *, customer_id: int) -> None:
    """/forgetme: the votes stay counted, but no longer name the chat they were cast in."""
    await session.execute(
        update(FaqAnswerVote).where(col(FaqAnswerVote.customer_id) == customer_id).values(chat_id=None)
    )
