"""Set-based order intake for import batches: the same rows `record_order` and `add_points` write one at a
time, written a few hundred per statement (bot/loyalty/order_batches.py decides what goes in them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Customer, Order, OrderStatus, PointsEntry
from storage.typed import non_null, table_of
from storage.upsert import dialect_insert

IN_LIMIT = 5000  # values per IN (...) list
ROWS_PER_INSERT = 500  # rows per multi-row INSERT: at most ~5,000 parameters on either backend


def _parts(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def known_external_ids(session: AsyncSession, *, external_ids: Iterable[str]) -> set[str]:
    """Which of these shop order ids are already stored."""
    found: set[str] = set()
    for part in _parts(sorted(set(external_ids)), IN_LIMIT):
        rows = await session.exec(select(Order.external_id).where(col(Order.external_id).in_(part)))
        found.update(rows.all())
    return found


async def lock_customers(session: AsyncSession, *, customer_ids: Iterable[int]) -> None:
    """`lock_customer` for many, in id order so two batches sharing customers cannot deadlock."""
    for part in _parts(sorted(set(customer_ids)), IN_LIMIT):
        await session.exec(
            select(Customer.id).where(col(Customer.id).in_(part)).order_by(col(Customer.id)).with_for_update()
        )


async def paid_orders_between(
    session: AsyncSession, *, customer_ids: Iterable[int], since: datetime, until: datetime
) -> list[tuple[int, datetime, int]]:
    """(customer id, ordered at, amount) of these customers' paid orders in [since, until): what
    `spend_since` sums, read once for a whole batch."""
    rows: list[tuple[int, datetime, int]] = []
    for part in _parts(sorted(set(customer_ids)), IN_LIMIT):
        result = await session.exec(
            select(non_null(Order.customer_id), Order.ordered_at, Order.amount_minor).where(
                col(Order.customer_id).in_(part),
                col(Order.status) == OrderStatus.PAID,
                col(Order.ordered_at) >= since,
                col(Order.ordered_at) < until,
            )
        )
        rows.extend(result.all())
    return rows


async def insert_orders(session: AsyncSession, *, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert orders (dicts of Order columns) unless their shop order id is stored; returns
    {external_id: id} of the ones inserted here (a concurrent writer's are left out)."""
    inserted: dict[str, int] = {}
    table = table_of(Order)
    # One statement given many rows (SQLAlchemy's "insertmanyvalues"): compiled once and cached, it is sent
    # as multi-row INSERTs; a statement built with .values(rows) would be compiled again for every batch.
    statement = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["external_id"])
        .returning(table.c.external_id, table.c.id)
    )
    for part in _parts(rows, ROWS_PER_INSERT):
        for external_id, order_id in (await session.execute(statement, part)).all():
            inserted[external_id] = order_id
    return inserted


async def add_points_entries(session: AsyncSession, *, entries: list[dict[str, Any]]) -> set[str]:
    """`add_points` for many ledger entries (dicts of PointsEntry columns, `idempotency_key` set): each
    key is booked once; returns the keys booked here."""
    booked: set[str] = set()
    table = table_of(PointsEntry)
    statement = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.idempotency_key)
    )
    for part in _parts(entries, ROWS_PER_INSERT):
        booked.update((await session.execute(statement, part)).scalars().all())
    return booked
