"""Points ledger and coupon queries. Every award is idempotent on its key; balances are derived from the
entries by bot/loyalty/ledger.py."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, case, exists, func, literal, true
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Coupon, Customer, Order, PointsEntry
from storage.typed import non_null, rowcount, table_of
from storage.types import utcnow
from storage.upsert import dialect_insert, dialect_name

# No 0/O/1/I: codes are read aloud at the till.
COUPON_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


async def lock_customer(session: AsyncSession, *, customer_id: int) -> Customer | None:
    """Serialize balance changes of one customer: a row lock on PostgreSQL; on SQLite every write
    transaction already holds the database write lock (BEGIN IMMEDIATE), so there it only returns the
    customer, from the session when the update already loaded them (no statement)."""
    if dialect_name(session) == "sqlite":
        return await session.get(Customer, customer_id)
    result = await session.exec(select(Customer).where(col(Customer.id) == customer_id).with_for_update())
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
        dialect_insert(session, table_of(PointsEntry))
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
    return rowcount(await session.execute(statement)) == 1


async def add_welcome_bonus(
    session: AsyncSession, *, customer_id: int, telegram_id: int | None, delta: int, now: datetime
) -> bool:
    """The welcome bonus, once per customer and not again for someone who had it before a /forgetme
    (their marker, see remember_forgotten_welcome): one INSERT … SELECT … WHERE NOT EXISTS, so joining
    costs one statement for it. Returns whether it was given."""
    ledger = table_of(PointsEntry)
    values = core_select(  # sqlmodel's select types at most four columns
        literal(customer_id).label("customer_id"),
        literal(delta).label("delta"),
        literal("welcome").label("kind"),
        literal(f"welcome:{customer_id}").label("idempotency_key"),
        literal(now).label("available_at"),
        literal(now).label("created_at"),
    )
    if telegram_id is not None:
        marker = f"forgotten-welcome:{_welcome_marker(telegram_id)}"
        values = values.where(~exists().where(ledger.c.idempotency_key == marker))
    else:
        values = values.where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
    statement = (
        dialect_insert(session, ledger)
        .from_select(
            ["customer_id", "delta", "kind", "idempotency_key", "available_at", "created_at"], values
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return rowcount(await session.execute(statement)) == 1


def _welcome_marker(telegram_id: int) -> str:
    # 24 bits of a hash: one marker is shared by hundreds of possible Telegram ids, so it does not identify
    # the person, yet a returning forgotten member almost surely meets their own marker again.
    return hashlib.sha256(str(telegram_id).encode()).hexdigest()[:6]


async def remember_forgotten_welcome(session: AsyncSession, *, customer_id: int, telegram_id: int) -> None:
    """On /forgetme: note (without the Telegram id) that this person had their welcome bonus, so leaving
    and joining again is not a way to collect it twice."""
    welcomed = await session.exec(
        select(PointsEntry.id).where(col(PointsEntry.idempotency_key) == f"welcome:{customer_id}")
    )
    if welcomed.first() is None:
        return
    await add_points(
        session,
        customer_id=customer_id,
        delta=0,
        kind="forget",
        key=f"forgotten-welcome:{_welcome_marker(telegram_id)}",  # a clash means the marker is already there
    )


@cache
def _entries_of() -> Any:
    return select(PointsEntry).where(col(PointsEntry.customer_id) == bindparam("customer_id"))


async def ledger_entries(session: AsyncSession, *, customer_id: int) -> list[PointsEntry]:
    """Every ledger entry of the customer, in no particular order (bot/loyalty/ledger.py replays them).
    The statement is built once: /balance and every award run it."""
    return list((await session.exec(_entries_of(), params={"customer_id": customer_id})).all())


async def order_dates(session: AsyncSession, *, order_ids: set[int]) -> dict[int, datetime]:
    """When each of these orders was placed (expiry counts a purchase from its order's date)."""
    if not order_ids:
        return {}
    dates = await session.exec(
        select(non_null(Order.id), Order.ordered_at).where(col(Order.id).in_(order_ids))
    )
    return {order_id: ordered_at for order_id, ordered_at in dates.all()}


async def customers_with_points(session: AsyncSession) -> list[int]:
    """Ids of the customers who have any ledger entry (the expiry sweep walks them one by one)."""
    return list((await session.exec(select(PointsEntry.customer_id).distinct())).all())


async def coupon_by_key(session: AsyncSession, *, key: str) -> Coupon | None:
    return (await session.exec(select(Coupon).where(col(Coupon.idempotency_key) == key))).first()


def new_coupon_code(prefix: str = "", length: int = 8) -> str:
    return prefix + "".join(secrets.choice(COUPON_ALPHABET) for _ in range(length))


def new_member_code() -> str:
    """A member code: "M" and 7 letters of the coupon alphabet (unique by constraint; callers retry)."""
    return new_coupon_code("M", 7)


async def issue_coupon(
    session: AsyncSession,
    *,
    customer_id: int | None,
    source: str,
    benefit: str,
    expires_at: datetime,
    key: str | None = None,
    min_order_minor: int | None = None,
    prefix: str = "",
) -> Coupon:
    """Create a coupon with a fresh unique code, valid until `expires_at` (storage/coupons.py uses and
    voids it); with `key`, a repeat call returns the same coupon."""
    if key is not None:
        existing = await coupon_by_key(session, key=key)
        if existing is not None:
            return existing
    while True:
        code = new_coupon_code(prefix)
        statement = (
            dialect_insert(session, table_of(Coupon))
            .values(
                code=code,
                customer_id=customer_id,
                source=source,
                benefit=benefit,
                idempotency_key=key,
                created_at=utcnow(),
                expires_at=expires_at,
                state="issued",
                min_order_minor=min_order_minor,
            )
            .on_conflict_do_nothing()
        )
        if rowcount(await session.execute(statement)) == 1:
            break
        if key is not None:  # lost a race for the same key: the winner's coupon is the one
            existing = await coupon_by_key(session, key=key)
            if existing is not None:
                return existing
    coupon = (await session.exec(select(Coupon).where(col(Coupon.code) == code))).one()
    return coupon


@dataclass(frozen=True)
class PointsSummary:
    issued: int  # positive entries recorded in the period
    redeemed: int  # points spent on rewards in the period
    outstanding: int  # unspent points (available and pending) at the end of the period


async def points_summary(session: AsyncSession, *, start: datetime, end: datetime) -> PointsSummary:
    """Ledger totals for analytics; entries are placed in time by when they were recorded."""
    in_period = (col(PointsEntry.created_at) >= start) & (col(PointsEntry.created_at) < end)
    row = (
        await session.exec(
            select(
                func.coalesce(
                    func.sum(case((in_period & (col(PointsEntry.delta) > 0), PointsEntry.delta), else_=0)), 0
                ),
                func.coalesce(
                    func.sum(
                        case((in_period & (col(PointsEntry.kind) == "redeem"), -PointsEntry.delta), else_=0)
                    ),
                    0,
                ),
                func.coalesce(func.sum(PointsEntry.delta), 0),
            ).where(col(PointsEntry.created_at) < end)
        )
    ).one()
    return PointsSummary(issued=int(row[0]), redeemed=int(row[1]), outstanding=int(row[2]))
