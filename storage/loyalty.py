"""Loyalty queries: member codes, finding customers by what the shop knows, linking orders, history."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Customer, Order, OrderStatus, PointsEntry
from storage.points import lock_customer, new_member_code
from storage.rollups import refresh_customer
from storage.typed import rowcount

MEMBER_CODE = re.compile(r"^M[A-HJ-NP-Z2-9]{7}$")
FIND_BATCH = 1000  # refs per query: four IN lists stay under both backends' parameter limits


def ascii_digits(text: str) -> str:
    """Arabic-Indic and other decimal digits as 0-9 (merchants type either); other characters unchanged."""
    return "".join(str(int(char)) if char.isdecimal() else char for char in text)


def is_number(text: str) -> bool:
    """Digits only, by int()'s rules: str.isdigit() also accepts '²', which int() refuses."""
    return text.isdecimal()


def normalize_phone(text: str) -> str | None:
    """'+966 50-123 4567' -> '+966501234567'; None when it is not a plausible international number."""
    digits = ascii_digits(re.sub(r"[\s().-]", "", text.strip()))
    digits = digits.removeprefix("+").removeprefix("00") if digits.startswith(("+", "00")) else digits
    if not is_number(digits) or not 8 <= len(digits) <= 15:
        return None
    return f"+{digits}"


@cache
def _other_customer() -> Any:
    """Customer under another name, for "no other customer holds this code" (built once: aliasing costs
    more than the statement)."""
    return aliased(Customer)


async def ensure_member_code(session: AsyncSession, *, customer: Customer) -> str:
    """The customer's member code, created on first use; unique by constraint, retried on a clash."""
    if customer.member_code:
        return customer.member_code
    taken = _other_customer()
    while True:
        code = new_member_code()
        # One statement: set it unless the customer has one or another customer holds this code.
        result = await session.execute(
            update(Customer)
            .where(
                col(Customer.id) == customer.id,
                col(Customer.member_code).is_(None),
                ~exists().where(col(taken.member_code) == code),
            )
            .values(member_code=code)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            set_committed_value(customer, "member_code", code)
            return code
        await session.refresh(customer)  # rare: a racing update gave it one, or the code clashed
        if customer.member_code:
            return customer.member_code


async def find_customer(session: AsyncSession, *, ref: str) -> Customer | None:
    """A customer named by member code, phone, Telegram id or the shop's customer id."""
    return (await find_customers(session, refs=[ref])).get(ref.strip())


def _readings(ref: str) -> tuple[str | None, int | None, str | None]:
    """What a ref may be besides the shop's customer id: (member code, Telegram id, phone)."""
    code = ref.upper() if MEMBER_CODE.match(ref.upper()) else None
    telegram_id = int(ref) if is_number(ref) and len(ref) <= 15 else None
    return code, telegram_id, normalize_phone(ref)


async def find_customers(session: AsyncSession, *, refs: Iterable[str]) -> dict[str, Customer]:
    """{ref: customer} for the refs that name a customer (stripped refs as keys), in one query per
    FIND_BATCH refs: the shop's customer id first, then member code, Telegram id, phone."""
    wanted = sorted({ref.strip() for ref in refs})
    found: dict[str, Customer] = {}
    for start in range(0, len(wanted), FIND_BATCH):
        part = wanted[start : start + FIND_BATCH]
        readings = {ref: _readings(ref) for ref in part}
        codes = {code for code, _, _ in readings.values() if code}
        telegram_ids = {number for _, number, _ in readings.values() if number is not None}
        phones = {phone for _, _, phone in readings.values() if phone}
        conditions = [col(Customer.external_ref).in_(part)]
        if codes:
            conditions.append(col(Customer.member_code).in_(codes))
        if telegram_ids:
            conditions.append(col(Customer.telegram_id).in_(telegram_ids))
        if phones:
            conditions.append(col(Customer.phone).in_(phones))
        candidates = (
            await session.exec(
                select(Customer)
                .where(or_(*conditions), col(Customer.forgotten_at).is_(None))
                .order_by(col(Customer.id))
            )
        ).all()
        by: dict[tuple[str, object], Customer] = {}
        for customer in candidates:  # the lowest id wins where two customers share a value
            for key in (
                ("ref", customer.external_ref),
                ("code", customer.member_code),
                ("telegram", customer.telegram_id),
                ("phone", customer.phone),
            ):
                if key[1] is not None:
                    by.setdefault(key, customer)
        for ref, (code, telegram_id, phone) in readings.items():
            match = (
                by.get(("ref", ref))
                or (by.get(("code", code)) if code else None)
                or (by.get(("telegram", telegram_id)) if telegram_id is not None else None)
                or (by.get(("phone", phone)) if phone else None)
            )
            if match is not None:
                found[ref] = match
    return found


def refs_for(customer: Customer) -> set[str]:
    """Every way an order may have named this customer before they were known here."""
    refs: set[str] = set()
    if customer.telegram_id is not None:
        refs.add(str(customer.telegram_id))
    if customer.phone:
        refs.update({customer.phone, customer.phone.removeprefix("+")})
    if customer.member_code:
        refs.add(customer.member_code)
    if customer.external_ref:
        refs.add(customer.external_ref)
    return refs


async def claim_unlinked_orders(
    session: AsyncSession,
    *,
    customer: Customer,
    locked: bool = False,
    ordered_since: datetime | None = None,
) -> list[Order]:
    """Attach orders that named this customer (by a ref) but had no customer; returns them. `locked`:
    the caller holds the customer's row already (it inserted it in this transaction).

    `ordered_since` leaves older orders where they are (rows an earlier release stored with impossible
    dates such as year 1, which date arithmetic cannot handle)."""
    refs = refs_for(customer)
    if not refs:
        return []
    if customer.id is not None and not locked:  # before the orders' foreign keys share-lock the row
        await lock_customer(session, customer_id=customer.id)
    unlinked = select(Order).where(col(Order.customer_id).is_(None), col(Order.customer_ref).in_(refs))
    if ordered_since is not None:
        unlinked = unlinked.where(col(Order.ordered_at) >= ordered_since)
    result = await session.exec(unlinked.order_by(col(Order.ordered_at)).with_for_update())
    orders = list(result.all())
    for order in orders:
        order.customer_id = customer.id
        session.add(order)
    await session.flush()
    if orders and customer.id is not None:  # the linked orders now count for analytics
        await refresh_customer(session, customer_id=customer.id)
    return orders


async def remember_external_ref(session: AsyncSession, *, customer_id: int, ref: str) -> bool:
    """Store the shop's id for this customer unless they have one or another customer holds it."""
    taken = (await session.exec(select(Customer.id).where(col(Customer.external_ref) == ref))).first()
    if taken is not None:
        return False
    result = await session.execute(
        update(Customer)
        .where(col(Customer.id) == customer_id, col(Customer.external_ref).is_(None))
        .values(external_ref=ref)
    )
    return rowcount(result) == 1


async def reload_customer(session: AsyncSession, *, customer_id: int) -> Customer | None:
    """The customer as stored now, after a bulk UPDATE (remember_external_ref) bypassed the identity map."""
    customer = await session.get(Customer, customer_id)
    if customer is not None:
        await session.refresh(customer)
    return customer


async def set_phone(session: AsyncSession, *, customer: Customer, phone: str) -> None:
    customer.phone = phone
    session.add(customer)
    await session.flush()


async def spend_since(session: AsyncSession, *, customer_id: int, since: datetime, until: datetime) -> int:
    """Paid order amounts (minor units) of a customer in [since, until)."""
    statement = select(func.coalesce(func.sum(Order.amount_minor), 0)).where(
        col(Order.customer_id) == customer_id,
        col(Order.status) == OrderStatus.PAID,
        col(Order.ordered_at) >= since,
        col(Order.ordered_at) < until,
    )
    return int((await session.exec(statement)).one())


async def order_points(session: AsyncSession, *, order_id: int) -> list[PointsEntry]:
    result = await session.exec(select(PointsEntry).where(col(PointsEntry.order_id) == order_id))
    return list(result.all())


async def ledger_page(
    session: AsyncSession, *, customer_id: int, page: int, size: int
) -> tuple[list[tuple[PointsEntry, datetime | None]], int]:
    """Newest entries first, each with its order's date (None without an order): (page, total count)."""
    total = (
        await session.exec(
            select(func.count()).select_from(PointsEntry).where(col(PointsEntry.customer_id) == customer_id)
        )
    ).one()
    result = await session.exec(
        select(PointsEntry, Order.ordered_at)
        .outerjoin(Order, col(Order.id) == col(PointsEntry.order_id))
        .where(col(PointsEntry.customer_id) == customer_id)
        .order_by(col(PointsEntry.id).desc())
        .offset(page * size)
        .limit(size)
    )
    return [(entry, ordered_at) for entry, ordered_at in result.all()], int(total)
