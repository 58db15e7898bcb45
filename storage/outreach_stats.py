"""Outreach figures for analytics: marketing messages sent, and how many a purchase followed."""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Order, OrderStatus, OutboxMessage, OutboxState
from storage.outbox import CONVERSION_WINDOW
from storage.typed import non_null

CAMPAIGNS = ("winback", "birthday")


async def outreach_stats(
    session: AsyncSession, *, start: datetime, end: datetime
) -> dict[str, tuple[int, int]]:
    """campaign -> (messages sent in [start, end), of which followed by a paid order within 14 days).

    Computed from the orders themselves, so orders imported late or linked after the message still count.
    """
    in_period = (
        col(OutboxMessage.campaign).in_(CAMPAIGNS),
        col(OutboxMessage.state) == OutboxState.SENT,
        col(OutboxMessage.sent_at) >= start,
        col(OutboxMessage.sent_at) < end,
    )
    sent = (
        await session.exec(
            select(OutboxMessage.campaign, OutboxMessage.customer_id, non_null(OutboxMessage.sent_at)).where(
                *in_period
            )
        )
    ).all()
    orders: dict[int, list[datetime]] = {}
    if sent:
        # A subquery rather than a list of ids: a big campaign would pass PostgreSQL's parameter limit.
        messaged = select(OutboxMessage.customer_id).where(*in_period)
        rows = await session.exec(
            select(non_null(Order.customer_id), Order.ordered_at).where(
                col(Order.customer_id).in_(messaged),
                col(Order.status) == OrderStatus.PAID,
                col(Order.ordered_at) >= start,
                col(Order.ordered_at) <= end + CONVERSION_WINDOW,
            )
        )
        for customer_id, ordered_at in rows.all():
            orders.setdefault(customer_id, []).append(ordered_at)
    for times in orders.values():
        times.sort()
    stats = {campaign: (0, 0) for campaign in CAMPAIGNS}
    for campaign, customer_id, sent_at in sent:
        times = orders.get(customer_id, [])
        index = bisect_left(times, sent_at)
        followed = index < len(times) and times[index] <= sent_at + CONVERSION_WINDOW
        count, converted = stats[campaign]
        stats[campaign] = (count + 1, converted + int(followed))
    return stats
