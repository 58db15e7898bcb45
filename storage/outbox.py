"""Outbox queries: enqueue once per (customer, campaign, occurrence), claim due rows, record the outcome.

A row moves pending -> sending (claimed: attempts+1, committed before the send) -> sent / blocked / failed,
or pending -> skipped / cancelled. A row left in `sending` by a crash is claimed again once its claim is
older than the claim timeout.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Campaign,
    Customer,
    CustomerOutreach,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxState,
)
from storage.models.outreach import MARKETING
from storage.typed import non_null, rowcount, table_of
from storage.types import utcnow
from storage.upsert import dialect_insert

# A purchase this soon after a marketing message counts as following it.
CONVERSION_WINDOW = timedelta(days=14)
OPEN_STATES = (OutboxState.PENDING, OutboxState.SENDING)


async def enqueue(
    session: AsyncSession,
    *,
    customer_id: int,
    campaign: str,
    occurrence: str,
    text: str,
    due_at: datetime,
    reply_markup: str | None = None,
    expires_at: datetime | None = None,
    broadcast_id: int | None = None,
    claimed_at: datetime | None = None,
) -> int | None:
    """Add a message once; returns its id, or None when this (customer, campaign, occurrence) exists.

    With `claimed_at` the row starts claimed (state sending, attempt 1), for callers that send at once.
    """
    statement = (
        dialect_insert(session, table_of(OutboxMessage))
        .values(
            customer_id=customer_id,
            campaign=campaign,
            occurrence=occurrence,
            broadcast_id=broadcast_id,
            state=OutboxState.SENDING if claimed_at else OutboxState.PENDING,
            text=text,
            reply_markup=reply_markup,
            due_at=due_at,
            expires_at=expires_at,
            attempts=1 if claimed_at else 0,
            claimed_at=claimed_at,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["customer_id", "campaign", "occurrence"])
        .returning(table_of(OutboxMessage).c.id)
    )
    return (await session.execute(statement)).scalar()


async def enqueue_many(session: AsyncSession, *, rows: list[dict]) -> int:
    """Insert many pending rows in one statement (broadcasts); existing keys are left alone."""
    if not rows:
        return 0
    now = utcnow()
    values = [{"state": OutboxState.PENDING, "attempts": 0, "created_at": now, **row} for row in rows]
    statement = (
        dialect_insert(session, table_of(OutboxMessage))
        .values(values)
        .on_conflict_do_nothing(index_elements=["customer_id", "campaign", "occurrence"])
    )
    return rowcount(await session.execute(statement))


async def due_rows(
    session: AsyncSession,
    *,
    now: datetime,
    stale_before: datetime,
    limit: int,
    ids: list[int] | None = None,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[tuple[OutboxMessage, Customer]]:
    """Rows to consider sending now, oldest due first, locked (PostgreSQL skips rows others hold);
    `ids` narrows them to rows a unit of work just queued; `exclude` are stale-looking claims this
    process is still sending."""
    statement = (
        select(OutboxMessage, Customer)
        .join(Customer, col(Customer.id) == OutboxMessage.customer_id)
        .where(
            or_(
                and_(col(OutboxMessage.state) == OutboxState.PENDING, col(OutboxMessage.due_at) <= now),
                and_(
                    col(OutboxMessage.state) == OutboxState.SENDING,
                    col(OutboxMessage.claimed_at) < stale_before,
                    col(OutboxMessage.id).not_in(list(exclude)),
                ),
            )
        )
        .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(of=OutboxMessage, skip_locked=True)
    )
    if ids is not None:
        statement = statement.where(col(OutboxMessage.id).in_(ids))
    return list((await session.exec(statement)).all())


async def marketing_sent_since(
    session: AsyncSession, *, customer_ids: list[int], since: datetime
) -> dict[int, list[tuple[int, datetime]]]:
    """customer id -> (row id, when) of marketing messages sent or claimed (maybe on the way) since."""
    if not customer_ids:
        return {}
    moment = func.coalesce(OutboxMessage.sent_at, OutboxMessage.claimed_at)
    statement = select(OutboxMessage.customer_id, non_null(OutboxMessage.id), moment).where(
        col(OutboxMessage.customer_id).in_(customer_ids),
        col(OutboxMessage.campaign).in_(MARKETING),
        col(OutboxMessage.state).in_((OutboxState.SENT, OutboxState.SENDING)),
        moment >= since,
    )
    recent: dict[int, list[tuple[int, datetime]]] = {}
    for customer_id, row_id, at in (await session.exec(statement)).all():
        recent.setdefault(customer_id, []).append((row_id, at))
    return recent


async def claim(session: AsyncSession, *, row: OutboxMessage, now: datetime) -> int:
    """Mark the row as being sent (one more attempt); returns the attempt number."""
    row.state = OutboxState.SENDING
    row.attempts += 1
    row.claimed_at = now
    session.add(row)
    await session.flush()
    return row.attempts


async def settle(
    session: AsyncSession, *, row: OutboxMessage, state: str, outcome: str | None = None, due_at=None
) -> None:
    """Skip, cancel or postpone a row the claim step decided not to send now."""
    row.state = state
    row.outcome = outcome
    if due_at is not None:
        row.due_at = due_at
    session.add(row)
    await session.flush()


async def finish(
    session: AsyncSession,
    *,
    message_id: int,
    attempt: int,
    state: str,
    sent_at: datetime | None = None,
    telegram_message_id: int | None = None,
    outcome: str | None = None,
    retry_at: datetime | None = None,
) -> bool:
    """Record how a claimed send ended; only the claim that made attempt `attempt` may record it."""
    values: dict = {"state": state, "outcome": outcome}
    if sent_at is not None:
        values.update(sent_at=sent_at, message_id=telegram_message_id)
    if retry_at is not None:
        values.update(due_at=retry_at)
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.attempts) == attempt,
            col(OutboxMessage.state) == OutboxState.SENDING,
        )
        .values(**values)
    )
    return rowcount(result) == 1


async def cancel_open(session: AsyncSession, *, customer_id: int, campaign: str, outcome: str) -> int:
    """Cancel a customer's pending messages of one campaign (a purchase stops the win-back)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.customer_id) == customer_id,
            col(OutboxMessage.campaign) == campaign,
            col(OutboxMessage.state) == OutboxState.PENDING,
        )
        .values(state=OutboxState.CANCELLED, outcome=outcome)
    )
    return rowcount(result)


async def record_conversion(session: AsyncSession, *, customer_id: int, ordered_at: datetime) -> int:
    """Stamp the customer's sent marketing messages of the 14 days before this purchase as followed by it."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.customer_id) == customer_id,
            col(OutboxMessage.state) == OutboxState.SENT,
            col(OutboxMessage.campaign).in_(MARKETING),
            col(OutboxMessage.converted_at).is_(None),
            col(OutboxMessage.sent_at) <= ordered_at,
            col(OutboxMessage.sent_at) >= ordered_at - CONVERSION_WINDOW,
        )
        .values(converted_at=ordered_at)
    )
    return rowcount(result)


async def customers_with_open_marketing(session: AsyncSession, *, customer_ids: list[int]) -> set[int]:
    """Which of these customers have a pending win-back message or a sent marketing message not yet
    converted: the only ones whose orders `cancel_open` / `record_conversion` can change."""
    found: set[int] = set()
    for start in range(0, len(customer_ids), 5000):
        rows = await session.exec(
            select(non_null(OutboxMessage.customer_id)).where(
                col(OutboxMessage.customer_id).in_(customer_ids[start : start + 5000]),
                or_(
                    (col(OutboxMessage.campaign) == Campaign.WINBACK)
                    & (col(OutboxMessage.state) == OutboxState.PENDING),
                    (col(OutboxMessage.state) == OutboxState.SENT)
                    & col(OutboxMessage.campaign).in_(MARKETING)
                    & col(OutboxMessage.converted_at).is_(None),
                ),
            )
        )
        found.update(rows.all())
    return found


async def paid_orders_since(session: AsyncSession, *, since: datetime) -> list[tuple[int, datetime]]:
    """(customer id, ordered at) of paid, linked orders placed since `since`."""
    statement = select(non_null(Order.customer_id), Order.ordered_at).where(
        col(Order.customer_id).is_not(None),
        col(Order.status) == OrderStatus.PAID,
        col(Order.ordered_at) >= since,
    )
    return list((await session.exec(statement)).all())


async def forget_outreach(session: AsyncSession, *, customer_id: int) -> None:
    """/forgetme: drop unsent messages and erase the text of sent ones (anonymous counts stay)."""
    await session.execute(
        delete(OutboxMessage).where(
            col(OutboxMessage.customer_id) == customer_id,
            col(OutboxMessage.state).in_((OutboxState.PENDING, OutboxState.SENDING)),
        )
    )
    await session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.customer_id) == customer_id)
        .values(text=None, reply_markup=None)
    )
    await session.execute(delete(CustomerOutreach).where(col(CustomerOutreach.customer_id) == customer_id))


async def cancel_broadcast(session: AsyncSession, *, broadcast_id: int) -> int:
    """A stopped broadcast: its messages not yet claimed are cancelled."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.broadcast_id) == broadcast_id, col(OutboxMessage.state) == OutboxState.PENDING
        )
        .values(state=OutboxState.CANCELLED, outcome="stopped")
    )
    return rowcount(result)


async def release(session: AsyncSession, *, message_id: int, attempt: int) -> bool:
    """Give back a claim that was never sent (shutdown): pending again, as if never claimed."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.attempts) == attempt,
            col(OutboxMessage.state) == OutboxState.SENDING,
        )
        .values(state=OutboxState.PENDING, attempts=attempt - 1, claimed_at=None)
    )
    return rowcount(result) == 1
