"""Points ledger and coupon queries. Every award is idempotent on its key; balances are derived."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Coupon, Customer, PointsEntry
from storage.types import utcnow
from storage.upsert import dialect_insert

# No 0/O/1/I: codes are read aloud at the till.
COUPON_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Balance:
    available: int
    pending: int


async def lock_customer(session: AsyncSession, *, customer_id: int) -> Customer | None:
    """Serialize balance changes of one customer: a row lock on PostgreSQL; on SQLite every write
    transaction already holds the database write lock (BEGIN IMMEDIATE)."""
    result = await session.exec(select(Customer).where(Customer.id == customer_id).with_for_update())
    return result.first()


async def add_points(
    session: AsyncSession,
    *,
    customer_id: int,
    delta: int,
    kind: str,
    key: str,
    available_at: datetime | None = None,
    order_id: int | None = None,
    note: str | None = None,
) -> bool:
    """Append a ledger entry once per key; returns False when the key was already used."""
    now = utcnow()
    statement = (
        dialect_insert(session, PointsEntry.__table__)
        .values(
            customer_id=customer_id,
            delta=delta,
            kind=kind,
            idempotency_key=key,
            order_id=order_id,
            available_at=available_at or now,
            note=note,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return (await session.execute(statement)).rowcount == 1


async def points_balance(session: AsyncSession, *, customer_id: int, now: datetime) -> Balance:
    """Available = all entries already available (spends are available at once); pending = the rest."""
    is_available = PointsEntry.available_at <= now
    statement = select(
        func.coalesce(func.sum(case((is_available, PointsEntry.delta), else_=0)), 0),
        func.coalesce(func.sum(case((is_available, 0), else_=PointsEntry.delta)), 0),
    ).where(PointsEntry.customer_id == customer_id)
    available, pending = (await session.exec(statement)).one()
    return Balance(available=int(available), pending=int(pending))


def new_coupon_code(prefix: str = "", length: int = 8) -> str:
    return prefix + "".join(secrets.choice(COUPON_ALPHABET) for _ in range(length))


async def issue_coupon(
    session: AsyncSession,
    *,
    customer_id: int | None,
    source: str,
    benefit: str,
    key: str | None = None,
    expires_at: datetime | None = None,
    prefix: str = "",
) -> Coupon:
    """Create a coupon with a fresh unique code; with `key`, a repeat call returns the same coupon."""
    if key is not None:
        existing = (await session.exec(select(Coupon).where(Coupon.idempotency_key == key))).first()
        if existing is not None:
            return existing
    while True:
        code = new_coupon_code(prefix)
        statement = (
            dialect_insert(session, Coupon.__table__)
            .values(
                code=code,
                customer_id=customer_id,
                source=source,
                benefit=benefit,
                idempotency_key=key,
                created_at=utcnow(),
                expires_at=expires_at,
            )
            .on_conflict_do_nothing()
        )
        if (await session.execute(statement)).rowcount == 1:
            break
        if key is not None:  # lost a race for the same key: the winner's coupon is the one
            existing = (await session.exec(select(Coupon).where(Coupon.idempotency_key == key))).first()
            if existing is not None:
                return existing
    coupon = (await session.exec(select(Coupon).where(Coupon.code == code))).one()
    return coupon
