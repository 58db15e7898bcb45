"""Order queries: the idempotent way every purchase enters the store."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Order, OrderStatus
from storage.points import lock_customer
from storage.rollups import add_paid_order, refresh_customer
from storage.typed import rowcount, table_of
from storage.types import utcnow
from storage.upsert import dialect_insert


async def get_order(session: AsyncSession, *, external_id: str) -> Order | None:
    result = await session.exec(select(Order).where(col(Order.external_id) == external_id))
    return result.first()


async def record_order(
    session: AsyncSession,
    *,
    external_id: str,
    amount_minor: int,
    currency: str,
    ordered_at: datetime,
    customer_id: int | None = None,
    customer_ref: str | None = None,
    source: str = "manual",
) -> tuple[Order, bool]:
    """Store an order once per shop order id; returns (order, created). A retry returns the first one."""
    if amount_minor < 0:
        raise ValueError("order amount cannot be negative")
    if customer_id is not None:
        # Lock the customer before the order's foreign key takes a share lock on their row: two orders of
        # one customer then queue here instead of deadlocking when their rollups (or points) lock it later.
        await lock_customer(session, customer_id=customer_id)
    statement = (
        dialect_insert(session, table_of(Order))
        .values(
            external_id=external_id,
            source=source,
            customer_id=customer_id,
            customer_ref=customer_ref,
            amount_minor=amount_minor,
            currency=currency,
            status=OrderStatus.PAID,
            ordered_at=ordered_at,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["external_id"])
    )
    created = rowcount(await session.execute(statement)) == 1
    order = await get_order(session, external_id=external_id)
    if order is None:  # just inserted, or already there
        raise RuntimeError(f"order {external_id!r} missing after its upsert")
    if created and order.customer_id is not None:  # analytics rollups change with the order, atomically
        await add_paid_order(
            session,
            customer_id=order.customer_id,
            ordered_at=order.ordered_at,
            amount_minor=order.amount_minor,
        )
    return order, created


async def refund_order(
    session: AsyncSession, *, external_id: str, refunded_at: datetime, status: str = OrderStatus.REFUNDED
) -> tuple[Order | None, bool]:
    """Mark an order refunded or cancelled; returns (order, changed). Repeats change nothing."""
    order = (
        await session.exec(select(Order).where(col(Order.external_id) == external_id).with_for_update())
    ).first()
    if order is None or order.status != OrderStatus.PAID:
        return order, False
    order.status = status
    order.refunded_at = refunded_at
    session.add(order)
    await session.flush()
    if order.customer_id is not None:
        await refresh_customer(session, customer_id=order.customer_id)
    return order, True
