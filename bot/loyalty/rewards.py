"""Redeeming a reward: points out of the ledger and a coupon in, atomically and at most once per key."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.loyalty.purchases import balance
from bot.loyalty.rules import Reward
from bot.settings import Settings
from storage.models import Coupon
from storage.points import add_points, coupon_by_key, issue_coupon, lock_customer


class NotEnoughPoints(Exception):
    def __init__(self, available: int) -> None:
        super().__init__(available)
        self.available = available


async def redeem(
    session: AsyncSession, *, settings: Settings, now: datetime, customer_id: int, reward: Reward, key: str
) -> tuple[Coupon, int]:
    """Spend `reward.cost` points for a coupon; returns (coupon, points left). Raises NotEnoughPoints.

    The customer row lock (PostgreSQL) or the write lock (SQLite) serializes concurrent redemptions, so
    the balance check and the spend cannot interleave; `key` makes a double tap return the same coupon.
    """
    await lock_customer(session, customer_id=customer_id)
    ledger_key = f"redeem:{customer_id}:{key}"
    existing = await coupon_by_key(session, key=ledger_key)
    if existing is not None:
        left = await balance(session, settings=settings, customer_id=customer_id, now=now)
        return existing, left.available
    current = await balance(session, settings=settings, customer_id=customer_id, now=now)
    if current.available < reward.cost:
        raise NotEnoughPoints(current.available)
    await add_points(
        session,
        customer_id=customer_id,
        delta=-reward.cost,
        kind="redeem",
        key=ledger_key,
        available_at=now,
        note=reward.id,
    )
    min_order = None if reward.min_order is None else reward.min_order * 10**settings.currency_exponent
    coupon = await issue_coupon(
        session,
        customer_id=customer_id,
        source="reward",
        benefit=reward.benefit,
        key=ledger_key,
        expires_at=now + timedelta(days=reward.validity_days),
        min_order_minor=min_order,
        prefix="R",
    )
    return coupon, current.available - reward.cost
