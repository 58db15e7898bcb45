"""Partial refunds: take back the refunded share of an order's points, once per shop refund.

Shopify sends each refund (`refunds/create`, with its money transactions). WooCommerce sends the whole
order (`order.updated`) whose `refunds` list holds every refund so far as {id, total}: each is applied once,
by its id, so redeliveries and later updates listing the same refunds change nothing.

A full refund (or a cancellation) goes through `purchases.reverse_order`, which marks the order refunded and
tells the reversal listeners. A partial one leaves the order paid (its other items were kept) and only moves
points, so listeners that react to a lost order are not told.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.loyalty.order_events import OrderListeners, ReversalOutcome
from bot.loyalty.purchases import balance, reverse_order
from bot.settings import Settings
from storage import loyalty as store
from storage.models import OrderStatus
from storage.orders import get_order
from storage.points import add_points, lock_customer
from storage.typed import saved_id


async def reverse_part(
    session: AsyncSession,
    *,
    settings: Settings,
    listeners: OrderListeners,
    now: datetime,
    external_id: str,
    refund_id: str,
    amount_minor: int,
) -> ReversalOutcome:
    """Take back points in proportion to `amount_minor` refunded; a refund of the whole amount is a full
    reversal. Idempotent on (order, refund id); never below a zero balance."""
    order = await get_order(session, external_id=external_id.strip())
    if order is not None and amount_minor >= order.amount_minor:
        return await reverse_order(
            session, settings=settings, listeners=listeners, now=now, external_id=order.external_id
        )
    if order is None or order.status != OrderStatus.PAID or order.customer_id is None or amount_minor <= 0:
        return ReversalOutcome(order, False, order.customer_id if order else None, 0)
    customer_id = order.customer_id
    await lock_customer(session, customer_id=customer_id)
    entries = await store.order_points(session, order_id=saved_id(order))
    earned = sum(entry.delta for entry in entries if entry.delta > 0)
    already = -sum(entry.delta for entry in entries if entry.kind == "reverse")
    current = await balance(session, settings=settings, customer_id=customer_id, now=now)
    share = earned * amount_minor // order.amount_minor
    taken = max(0, min(share, earned - already, current.available + current.pending))
    # Recorded even when nothing can be taken, so a redelivery of this refund never takes points later.
    changed = await add_points(
        session,
        customer_id=customer_id,
        delta=-taken,
        kind="reverse",
        key=f"reverse:{order.id}:{refund_id[:80]}",
        available_at=now,
        order_id=order.id,
        note=order.external_id[:255],
    )
    return ReversalOutcome(order, changed, customer_id, taken if changed else 0)


async def reverse_parts(
    session: AsyncSession,
    *,
    settings: Settings,
    listeners: OrderListeners,
    now: datetime,
    external_id: str,
    parts: tuple[tuple[str, int], ...],
) -> bool:
    """Apply each (refund id, amount in minor units) with `reverse_part`; True if any took points back."""
    changed = False
    for refund_id, amount_minor in parts:
        outcome = await reverse_part(
            session,
            settings=settings,
            listeners=listeners,
            now=now,
            external_id=external_id,
            refund_id=refund_id,
            amount_minor=amount_minor,
        )
        changed = changed or outcome.changed
    return changed
