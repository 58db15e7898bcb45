"""Outreach queries: birthdays, the order history campaigns and segments are computed from, broadcasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Broadcast,
    BroadcastState,
    Customer,
    CustomerOutreach,
    Order,
    OrderStatus,
    OutboxMessage,
)
from storage.text import storable
from storage.typed import non_null, rowcount, saved_id, table_of
from storage.upsert import dialect_insert


@dataclass(frozen=True)
class Recipient:
    customer_id: int
    locale: str
    first_name: str | None
    birthday: date | None
    birthday_changed_at: datetime | None
    time_zone: str | None


def _contactable():
    return (
        col(Customer.telegram_id).is_not(None),
        col(Customer.marketing_opt_in).is_(True),
        col(Customer.reachable).is_(True),
        col(Customer.forgotten_at).is_(None),
    )


async def set_birthday(session: AsyncSession, *, customer_id: int, birthday: date, now: datetime) -> bool:
    """Save the birthday; returns True when it changed (which restarts the no-reward lock)."""
    customer = await session.get(Customer, customer_id, with_for_update=True)
    if customer is None or customer.birthday == birthday:
        return False
    customer.birthday = birthday
    session.add(customer)
    statement = dialect_insert(session, table_of(CustomerOutreach)).values(
        customer_id=customer_id, birthday_changed_at=now
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=["customer_id"], set_={"birthday_changed_at": now})
    )
    await session.flush()
    return True


async def birthday_changed_at(session: AsyncSession, *, customer_id: int) -> datetime | None:
    """When the customer last set or changed their birthday (None if never through /birthday)."""
    prefs = await session.get(CustomerOutreach, customer_id)
    return prefs.birthday_changed_at if prefs is not None else None


async def recipients(session: AsyncSession, *, with_birthday: bool = False) -> list[Recipient]:
    """Customers marketing may reach (linked, opted in, reachable), with their outreach preferences."""
    statement = (
        select(Customer, CustomerOutreach)
        .outerjoin(CustomerOutreach, col(CustomerOutreach.customer_id) == Customer.id)
        .where(*_contactable())
        .order_by(col(Customer.id))
    )
    if with_birthday:
        statement = statement.where(col(Customer.birthday).is_not(None))
    rows = (await session.exec(statement)).all()
    return [
        Recipient(
            saved_id(customer),
            customer.locale,
            customer.first_name,
            customer.birthday,
            prefs.birthday_changed_at if prefs else None,
            prefs.time_zone if prefs else None,
        )
        for customer, prefs in rows
    ]


@dataclass(frozen=True)
class AudienceMember:
    """A customer a broadcast could be meant for, with what decides whether it may reach them."""

    customer_id: int
    telegram_id: int | None  # never None here (the query keeps linked customers); typed as the column
    locale: str
    opted_in: bool
    reachable: bool
    time_zone: str | None


async def audience(session: AsyncSession) -> list[AudienceMember]:
    """Every customer in the bot (linked, not erased), reachable and opted in or not: a broadcast preview
    says how many of a segment are left out and why."""
    statement = (
        select(Customer, CustomerOutreach)
        .outerjoin(CustomerOutreach, col(CustomerOutreach.customer_id) == Customer.id)
        .where(col(Customer.telegram_id).is_not(None), col(Customer.forgotten_at).is_(None))
        .order_by(col(Customer.id))
    )
    return [
        AudienceMember(
            saved_id(customer),
            customer.telegram_id,
            customer.locale,
            customer.marketing_opt_in,
            customer.reachable,
            prefs.time_zone if prefs else None,
        )
        for customer, prefs in (await session.exec(statement)).all()
    ]


async def customer_zones(session: AsyncSession, *, customer_ids: list[int]) -> dict[int, str]:
    if not customer_ids:
        return {}
    rows = await session.exec(
        select(CustomerOutreach.customer_id, CustomerOutreach.time_zone).where(
            col(CustomerOutreach.customer_id).in_(customer_ids), col(CustomerOutreach.time_zone).is_not(None)
        )
    )
    return {customer_id: zone for customer_id, zone in rows.all() if zone is not None}


async def paid_order_history(session: AsyncSession) -> dict[int, list[tuple[datetime, int]]]:
    """customer id -> [(ordered at, amount)] of their paid orders: the input of win-back and segments."""
    rows = await session.exec(
        select(non_null(Order.customer_id), Order.ordered_at, Order.amount_minor).where(
            col(Order.customer_id).is_not(None), col(Order.status) == OrderStatus.PAID
        )
    )
    history: dict[int, list[tuple[datetime, int]]] = {}
    for customer_id, ordered_at, amount in rows.all():
        history.setdefault(customer_id, []).append((ordered_at, amount))
    return history


async def campaign_messages(session: AsyncSession, *, campaign: str) -> dict[int, list[OutboxMessage]]:
    """customer id -> their messages of one campaign (to know which win-back stage comes next)."""
    rows = await session.exec(select(OutboxMessage).where(col(OutboxMessage.campaign) == campaign))
    messages: dict[int, list[OutboxMessage]] = {}
    for message in rows.all():
        messages.setdefault(message.customer_id, []).append(message)
    return messages


async def create_broadcast(session: AsyncSession, *, created_by: int, segment: str, text: str) -> Broadcast:
    broadcast = Broadcast(created_by=created_by, segment=segment, text=storable(text))  # NUL: see storable
    session.add(broadcast)
    await session.flush()
    return broadcast


async def get_broadcast(session: AsyncSession, *, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def move_broadcast(
    session: AsyncSession, *, broadcast_id: int, from_state: str, to_state: str, **values: object
) -> bool:
    """Change the broadcast's state only if it is in `from_state` (a double tap launches it once)."""
    result = await session.execute(
        update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id, col(Broadcast.state) == from_state)
        .values(state=to_state, **values)
    )
    return rowcount(result) == 1


async def broadcast_counts(session: AsyncSession, *, broadcast_id: int) -> dict[str, int]:
    """state -> number of the broadcast's messages in it."""
    rows = await session.exec(
        select(OutboxMessage.state, func.count())
        .where(col(OutboxMessage.broadcast_id) == broadcast_id)
        .group_by(OutboxMessage.state)
    )
    return {customer_id: zone for customer_id, zone in rows.all() if zone is not None}


async def sending_broadcasts(session: AsyncSession) -> list[Broadcast]:
    rows = await session.exec(select(Broadcast).where(col(Broadcast.state) == BroadcastState.SENDING))
    return list(rows.all())
