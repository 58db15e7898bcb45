"""Settling one due referral (`bot/referrals/jobs.py:convert` orchestrates): who takes part, the order it
hangs on, and the referral's final state. The referral passed in was read with `referrals.lock_referral`,
so these writes happen under its row lock (PostgreSQL) or the write lock (SQLite)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Order, Referral, ReferralStatus


async def referral_parties(
    session: AsyncSession, *, referral_id: int
) -> tuple[int | None, int | None] | None:
    """(referrer id, referee id) without locking anything, so the caller can lock both customers first."""
    row = (
        await session.exec(
            select(Referral.referrer_id, Referral.referee_id).where(col(Referral.id) == referral_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def qualifying_order(session: AsyncSession, *, referral: Referral) -> Order | None:
    return await session.get(Order, referral.order_id) if referral.order_id is not None else None


async def cancel_referral(session: AsyncSession, *, referral: Referral, cancelled_at: datetime) -> None:
    referral.status, referral.cancelled_at = ReferralStatus.CANCELLED, cancelled_at
    session.add(referral)
    await session.flush()


async def record_conversion(
    session: AsyncSession,
    *,
    referral: Referral,
    converted_at: datetime,
    rewarded: bool,
    referrer_points: int,
    referee_points: int,
) -> None:
    referral.status, referral.converted_at, referral.rewarded = (
        ReferralStatus.CONVERTED,
        converted_at,
        rewarded,
    )
    referral.referrer_points, referral.referee_points = referrer_points, referee_points
    session.add(referral)
    await session.flush()
