"""Analytics test helpers: customers and orders written through the real storage functions, and a
brute-force reference that computes the /stats figures straight from a list of orders."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import select

from bot.analytics.metrics import clv
from storage.customers import TelegramProfile, ensure_customer
from storage.models import CohortCell, CustomerDay, CustomerSummary, ShopDay
from storage.orders import record_order, refund_order


def at(text: str, zone: tzinfo = UTC) -> datetime:
    """'2026-03-05 10:00' in `zone`, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


async def customer(db, telegram_id: int) -> int:
    async with db.session() as session:
        row, _ = await ensure_customer(
            session, profile=TelegramProfile(telegram_id, first_name=f"C{telegram_id}"), locale="en"
        )
        return row.id


async def order(
    db, external_id: str, customer_id: int | None, when: datetime, amount_minor: int, **kw
) -> None:
    async with db.session() as session:
        await record_order(
            session,
            external_id=external_id,
            amount_minor=amount_minor,
            currency="USD",
            ordered_at=when,
            customer_id=customer_id,
            **kw,
        )


async def refund(db, external_id: str, when: datetime) -> None:
    async with db.session() as session:
        await refund_order(session, external_id=external_id, refunded_at=when)


async def rollup_snapshot(db) -> dict[str, list]:
    """Every rollup row, sorted, for comparing incremental upkeep with a rebuild."""
    snapshot = {}
    async with db.read_session() as session:
        for model in (CustomerDay, CustomerSummary, ShopDay, CohortCell):
            rows = (await session.execute(select(model.__table__))).all()
            snapshot[model.__tablename__] = sorted(tuple(row) for row in rows)
    return snapshot


@dataclass(frozen=True)
class RawOrder:
    customer: int | None
    at: datetime
    amount_minor: int
    paid: bool = True


def reference(
    orders: list[RawOrder], *, start: date, end: date, window: int, zone: tzinfo = UTC, exponent: int = 2
) -> dict:
    """The definitions of docs/analytics.md applied literally: [start, end) in local days."""
    paid = [
        (o.customer, o.at.astimezone(zone).date(), o.amount_minor) for o in orders if o.paid and o.customer
    ]

    def active(t: date) -> set[int]:
        return {c for c, d, _ in paid if t - timedelta(days=window) <= d < t}

    first: dict[int, date] = {}
    for c, d, _ in paid:
        first[c] = min(d, first.get(c, d))
    s, e = active(start), active(end)
    new = {c for c, d in first.items() if start <= d < end}
    inside = [(c, amount) for c, d, amount in paid if start <= d < end]
    per_customer = Counter(c for c, _ in inside)
    orders_count = len(inside)
    revenue = sum(amount for _, amount in inside) / 10**exponent
    lost = len(s - e)
    aov = revenue / orders_count if orders_count else None
    frequency = orders_count / len(per_customer) if per_customer else None
    churn = lost / len(s) * 100 if s else None
    return {
        "customers_total": sum(1 for d in first.values() if d < end),
        "new_customers": len(new),
        "active_start": len(s),
        "active_end": len(e),
        "lost_customers": lost,
        "retention_rate": (len(e) - len(new)) / len(s) * 100 if s else None,
        "churn_rate": churn,
        "buyers": len(per_customer),
        "repeat_buyers": sum(1 for n in per_customer.values() if n > 1),
        "repeat_purchase_rate": (
            sum(1 for n in per_customer.values() if n > 1) / len(per_customer) * 100 if per_customer else None
        ),
        "purchase_frequency": frequency,
        "orders": orders_count,
        "revenue": revenue,
        "average_order_value": aov,
        "clv": clv(aov, frequency, churn, (end - start).days),
    }
