"""Points ledger and coupon queries. Every award is idempotent on its key; balances are derived."""

from __future__ import annotations

import hashlib
import secrets
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Coupon, Customer, Order, PointsEntry
from storage.typed import non_null, rowcount, table_of
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


async def welcomed_before(session: AsyncSession, *, telegram_id: int) -> bool:
    """Whether someone with this Telegram id may have had a welcome bonus before a /forgetme."""
    key = f"forgotten-welcome:{_welcome_marker(telegram_id)}"
    return (
        await session.exec(select(PointsEntry.id).where(col(PointsEntry.idempotency_key) == key))
    ).first() is not None


@dataclass
class Lot:
    """Points from one positive ledger entry, and how many of them are still unspent."""

    entry_id: int
    order_id: int | None
    amount: int
    available_at: datetime
    expires_at: datetime | None
    remaining: int


def _take(lots: list[Lot], wanted: int) -> int:
    """Consume up to `wanted` points from `lots` in order; returns what could not be taken."""
    for lot in lots:
        if wanted <= 0:
            break
        used = min(lot.remaining, wanted)
        lot.remaining -= used
        wanted -= used
    return wanted


# Entries that are not the customer's own doing do not keep their points alive.
NOT_ACTIVITY = ("reverse", "expire", "forget")


def activity_moments(
    entries: list[PointsEntry], purchased_at: dict[int, datetime] | None = None
) -> list[datetime]:
    """When the customer was active: buying (the order's date when known, else when its points became
    available), spending, bonuses. Refunded orders do not count, nor do reversals and expiries."""
    reversed_orders = {entry.order_id for entry in entries if entry.kind == "reverse"}
    purchased_at = purchased_at or {}
    return sorted(
        purchased_at.get(entry.order_id, entry.available_at) if entry.order_id else entry.available_at
        for entry in entries
        if entry.delta != 0
        and entry.kind not in NOT_ACTIVITY
        and (entry.order_id is None or entry.order_id not in reversed_orders)
    )


def inactivity_expiry(activity: list[datetime], window: timedelta) -> Callable[[datetime], datetime]:
    """For sorted activity moments, a function: points available from `start` -> the moment they expire,
    the end of the first `window` without any activity after `start`."""
    # ends[i]: the last activity reachable from activity i without a gap of `window` (one pass, from the end).
    ends = list(activity)
    for i in range(len(activity) - 2, -1, -1):
        if activity[i + 1] - activity[i] < window:
            ends[i] = ends[i + 1]

    def expiry(start: datetime) -> datetime:
        following = bisect_right(activity, start)
        if following < len(activity) and activity[following] - start < window:
            return ends[following] + window
        return start + window

    return expiry


def replay_ledger(
    entries: list[PointsEntry],
    *,
    expire_after: timedelta | None,
    purchased_at: dict[int, datetime] | None = None,
) -> list[Lot]:
    """Rebuild the unspent lots from the append-only ledger, oldest first.

    With `expire_after`, points expire once the customer has been inactive that long (see
    activity_moments). Spends consume the oldest lot that is available and not expired at the moment of the
    spend (FIFO); a reversal tied to an order first takes back that order's own lot, even while it is still
    pending. `expire` entries only record an expiry that the replay already applies, so they consume nothing.
    A negative entry's moment is its `available_at` (set to the business clock by the writer).
    """
    ordered = sorted(entries, key=lambda e: (e.available_at, e.id or 0))
    expiry = (
        inactivity_expiry(activity_moments(ordered, purchased_at), expire_after) if expire_after else None
    )
    lots = [
        Lot(
            entry.id or 0,
            entry.order_id,
            entry.delta,
            entry.available_at,
            expiry(entry.available_at) if expiry else None,
            entry.delta,
        )
        for entry in ordered
        if entry.delta > 0
    ]
    for entry in ordered:
        if entry.delta >= 0 or entry.kind == "expire":
            continue
        at = entry.available_at
        wanted = -entry.delta
        if entry.kind == "reverse" and entry.order_id is not None:
            wanted = _take([lot for lot in lots if lot.order_id == entry.order_id], wanted)
        live = [
            lot for lot in lots if lot.available_at <= at and (lot.expires_at is None or lot.expires_at > at)
        ]
        wanted = _take(live, wanted)
        if wanted and entry.kind == "reverse":  # taking back points not yet available
            _take([lot for lot in lots if lot.available_at > at], wanted)
    return lots


def balance_of(lots: list[Lot], now: datetime) -> Balance:
    available = sum(
        lot.remaining
        for lot in lots
        if lot.available_at <= now and (lot.expires_at is None or lot.expires_at > now)
    )
    pending = sum(lot.remaining for lot in lots if lot.available_at > now)
    return Balance(available=available, pending=pending)


async def customer_lots(
    session: AsyncSession, *, customer_id: int, expire_after: timedelta | None = None
) -> list[Lot]:
    entries = list(
        (await session.exec(select(PointsEntry).where(col(PointsEntry.customer_id) == customer_id))).all()
    )
    purchased_at: dict[int, datetime] = {}
    order_ids = {entry.order_id for entry in entries if entry.order_id is not None}
    if expire_after and order_ids:
        dates = await session.exec(
            select(non_null(Order.id), Order.ordered_at).where(col(Order.id).in_(order_ids))
        )
        purchased_at = {order_id: ordered_at for order_id, ordered_at in dates.all()}
    return replay_ledger(entries, expire_after=expire_after, purchased_at=purchased_at)


async def points_balance(
    session: AsyncSession, *, customer_id: int, now: datetime, expire_after: timedelta | None = None
) -> Balance:
    """Available = unspent points past their pending window and not expired; pending = the rest.

    Derived by replaying the customer's ledger (see replay_ledger), so it honours FIFO spending and
    expiry without ever rewriting an entry. Without `expire_after` points never expire.
    """
    lots = await customer_lots(session, customer_id=customer_id, expire_after=expire_after)
    return balance_of(lots, now)


async def customers_with_points(session: AsyncSession) -> list[int]:
    """Ids of the customers who have any ledger entry (the expiry sweep walks them one by one)."""
    return list((await session.exec(select(PointsEntry.customer_id).distinct())).all())


async def coupon_by_key(session: AsyncSession, *, key: str) -> Coupon | None:
    return (await session.exec(select(Coupon).where(col(Coupon.idempotency_key) == key))).first()


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
