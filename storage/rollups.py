"""Analytics rollups: per-customer days and summaries, shop days, cohort cells (storage/models/analytics.py).

`refresh_customers` recomputes some customers' rows from their paid orders and applies the difference to
the shop-wide tables; storage/orders.py and storage/loyalty.py call it (`refresh_customer` for one) in the
same transaction as every order change, an import batch once for all the customers it touched.
`rebuild_rollups` recomputes everything from the raw orders. Local days are computed in Python (the same on
SQLite and PostgreSQL) in the time zone set by `set_rollup_timezone` (SHOP_TIMEZONE, set at start).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from sqlalchemy import delete, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CohortCell, Customer, CustomerDay, CustomerSummary, Order, OrderStatus, ShopDay
from storage.typed import table_of
from storage.upsert import dialect_insert, dialect_name

_timezone: tzinfo = UTC
INSERT_BATCH = 5000
IN_LIMIT = 5000


def set_rollup_timezone(zone: tzinfo) -> None:
    """Local days and months follow this zone; after changing SHOP_TIMEZONE run `rebuild-rollups`."""
    global _timezone
    _timezone = zone


def local_day(moment: datetime, zone: tzinfo | None = None) -> int:
    return moment.astimezone(zone or _timezone).date().toordinal()


def month_of(day: int) -> int:
    """A month as year * 12 + month - 1, so month arithmetic is integer arithmetic."""
    value = date.fromordinal(day)
    return value.year * 12 + value.month - 1


@dataclass(frozen=True)
class Footprint:
    """What one customer contributes to the rollups: {day: (orders, revenue)}."""

    days: dict[int, tuple[int, int]]

    def cells(self) -> set[tuple[int, int]]:
        if not self.days:
            return set()
        cohort = month_of(min(self.days))
        return {(cohort, month_of(day)) for day in self.days}

    def rows(self, customer_id: int) -> list[dict]:
        ordered = sorted(self.days)
        return [
            {
                "customer_id": customer_id,
                "day": day,
                "orders": self.days[day][0],
                "revenue_minor": self.days[day][1],
                "prev_day": ordered[i - 1] if i else None,
                "next_day": ordered[i + 1] if i + 1 < len(ordered) else None,
            }
            for i, day in enumerate(ordered)
        ]

    def summary(self, customer_id: int) -> dict:
        first = min(self.days)
        return {
            "customer_id": customer_id,
            "first_day": first,
            "last_day": max(self.days),
            "orders": sum(orders for orders, _ in self.days.values()),
            "revenue_minor": sum(revenue for _, revenue in self.days.values()),
            "cohort": month_of(first),
        }


def footprint(orders: Iterable[tuple[datetime, int]], zone: tzinfo | None = None) -> Footprint:
    days: dict[int, tuple[int, int]] = {}
    for ordered_at, amount in orders:
        day = local_day(ordered_at, zone)
        count, revenue = days.get(day, (0, 0))
        days[day] = (count + 1, revenue + amount)
    return Footprint(days)


def _shop_delta(old: Footprint, new: Footprint) -> dict[int, list[int]]:
    """{day: [orders, revenue, new customers]} to add to the shop days."""
    delta: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for sign, print_ in ((-1, old), (1, new)):
        for day, (orders, revenue) in print_.days.items():
            delta[day][0] += sign * orders
            delta[day][1] += sign * revenue
        if print_.days:
            delta[min(print_.days)][2] += sign
    return {day: values for day, values in delta.items() if any(values)}


async def _add_shop_days(session: AsyncSession, delta: dict[int, list[int]]) -> None:
    if not delta:
        return
    table = table_of(ShopDay)
    rows = [
        {"day": day, "orders": o, "revenue_minor": r, "new_customers": n}
        for day, (o, r, n) in sorted(delta.items())
    ]
    statement = dialect_insert(session, table)
    # One statement per change: concurrent writers add to the same day without losing either addition.
    statement = statement.on_conflict_do_update(
        index_elements=["day"],
        set_={
            "orders": table.c.orders + statement.excluded.orders,
            "revenue_minor": table.c.revenue_minor + statement.excluded.revenue_minor,
            "new_customers": table.c.new_customers + statement.excluded.new_customers,
        },
    )
    # Given the rows, not .values(rows): the statement is compiled once and cached, whatever their number.
    await session.execute(statement, rows)
    if all(value >= 0 for values in delta.values() for value in values):
        return  # nothing went down, so no day can have dropped to zero
    await session.execute(
        delete(ShopDay).where(
            col(ShopDay.day).in_(list(delta)),
            col(ShopDay.orders) == 0,
            col(ShopDay.new_customers) == 0,
        )
    )


async def _add_cohort_cells(session: AsyncSession, delta: Counter) -> None:
    delta = Counter({cell: change for cell, change in delta.items() if change})
    if not delta:
        return
    table = table_of(CohortCell)
    statement = dialect_insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["cohort", "month"],
        set_={"customers": table.c.customers + statement.excluded.customers},
    )
    await session.execute(
        statement, [{"cohort": c, "month": m, "customers": n} for (c, m), n in sorted(delta.items())]
    )
    if any(change < 0 for change in delta.values()):
        await session.execute(delete(CohortCell).where(col(CohortCell.customers) == 0))


async def refresh_customer(session: AsyncSession, *, customer_id: int) -> bool:
    """Recompute one customer's rollups from their paid orders; returns whether anything changed."""
    return bool(await refresh_customers(session, customer_ids=[customer_id]))


async def refresh_customers(session: AsyncSession, *, customer_ids: Iterable[int]) -> set[int]:
    """Recompute these customers' rollups from their paid orders in a few set-based statements (whatever
    their number); returns the ids whose rollups changed. An import batch calls it once for every customer
    it touched, instead of once per order.

    The customer rows are locked first, in id order (PostgreSQL; SQLite writers already hold the database
    lock), so two writers of the same customer recompute one after the other and the second sees the first.
    """
    ids = sorted(set(customer_ids))
    if not ids:
        return set()
    await session.exec(
        select(Customer.id).where(col(Customer.id).in_(ids)).order_by(col(Customer.id)).with_for_update()
    )
    paid: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    stored: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for part in _parts(ids):
        orders = await session.exec(
            select(Order.customer_id, Order.ordered_at, Order.amount_minor).where(
                col(Order.customer_id).in_(part), col(Order.status) == OrderStatus.PAID
            )
        )
        for customer_id, ordered_at, amount in orders.all():
            paid[customer_id or 0].append((ordered_at, amount))
        days = await session.exec(
            select(
                CustomerDay.customer_id, CustomerDay.day, CustomerDay.orders, CustomerDay.revenue_minor
            ).where(col(CustomerDay.customer_id).in_(part))
        )
        for customer_id, day, count, revenue in days.all():
            stored[customer_id][day] = (count, revenue)
    shop: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    cells: Counter = Counter()
    day_rows: list[dict] = []
    summaries: list[dict] = []
    changed: set[int] = set()
    for customer_id in ids:
        old, new = Footprint(stored.get(customer_id, {})), footprint(paid.get(customer_id, ()))
        if old == new:
            continue
        changed.add(customer_id)
        if new.days:
            day_rows.extend(new.rows(customer_id))
            summaries.append(new.summary(customer_id))
        for day, values in _shop_delta(old, new).items():
            for i, value in enumerate(values):
                shop[day][i] += value
        cells.update(dict.fromkeys(new.cells(), 1))
        cells.subtract(dict.fromkeys(old.cells(), 1))
    for part in _parts(sorted(changed)):
        await session.execute(delete(CustomerDay).where(col(CustomerDay.customer_id).in_(part)))
        await session.execute(delete(CustomerSummary).where(col(CustomerSummary.customer_id).in_(part)))
    for start in range(0, len(day_rows), INSERT_BATCH):
        await session.execute(table_of(CustomerDay).insert(), day_rows[start : start + INSERT_BATCH])
    for start in range(0, len(summaries), INSERT_BATCH):
        await session.execute(table_of(CustomerSummary).insert(), summaries[start : start + INSERT_BATCH])
    await _add_shop_days(session, {day: values for day, values in shop.items() if any(values)})
    await _add_cohort_cells(session, cells)
    return changed


async def add_paid_order(
    session: AsyncSession, *, customer_id: int, ordered_at: datetime, amount_minor: int
) -> None:
    """A new paid order of this customer, applied to their stored rollups: what `refresh_customer` would
    write (the stored rows always match the paid orders, every change keeps them so in its transaction), but
    from the customer's day rows instead of all their orders, writing only the rows that change. The path of
    single orders (webhooks, /award), so a busy customer's next order does not re-read their history.
    """
    await session.exec(select(Customer.id).where(col(Customer.id) == customer_id).with_for_update())
    stored = await session.exec(
        select(CustomerDay.day, CustomerDay.orders, CustomerDay.revenue_minor).where(
            col(CustomerDay.customer_id) == customer_id
        )
    )
    old = Footprint({day: (orders, revenue) for day, orders, revenue in stored.all()})
    days = dict(old.days)
    day = local_day(ordered_at)
    orders, revenue = days.get(day, (0, 0))
    days[day] = (orders + 1, revenue + amount_minor)
    new = Footprint(days)
    before = {row["day"]: row for row in old.rows(customer_id)}
    changed = [
        row for row in new.rows(customer_id) if before.get(row["day"]) != row
    ]  # the day, its neighbours
    for table, rows, key in (
        (table_of(CustomerDay), changed, ["customer_id", "day"]),
        (table_of(CustomerSummary), [new.summary(customer_id)], ["customer_id"]),
    ):
        statement = dialect_insert(session, table).values(rows)
        columns = [name for name in rows[0] if name not in key]
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=key, set_={name: statement.excluded[name] for name in columns}
            )
        )
    await _add_shop_days(session, _shop_delta(old, new))
    cells = Counter(dict.fromkeys(new.cells(), 1))
    cells.subtract(dict.fromkeys(old.cells(), 1))
    await _add_cohort_cells(session, cells)


def _parts(ids: list[int]) -> Iterator[list[int]]:
    """Slices of at most IN_LIMIT ids: one IN (...) list stays well under both backends' parameter limits."""
    for start in range(0, len(ids), IN_LIMIT):
        yield ids[start : start + IN_LIMIT]


ROLLUP_TABLES = (CustomerDay, CustomerSummary, ShopDay, CohortCell)


async def rebuild_rollups(session: AsyncSession) -> int:
    """Recompute every rollup from the raw orders; returns the number of customers with orders."""
    if dialect_name(session) == "postgresql":
        # Order writers touch these tables after inserting their order: they wait for the rebuild and then
        # apply their own change on top of it, so nothing is counted twice or missed.
        names = ", ".join(model.__tablename__ for model in ROLLUP_TABLES)
        await session.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
    for model in ROLLUP_TABLES:
        await session.execute(delete(model))
    result = await session.stream(
        select(Order.customer_id, Order.ordered_at, Order.amount_minor)
        .where(col(Order.customer_id).is_not(None), col(Order.status) == OrderStatus.PAID)
        .order_by(col(Order.customer_id))
        .execution_options(yield_per=INSERT_BATCH)
    )
    shop: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    cells: Counter = Counter()
    day_rows: list[dict] = []
    summaries: list[dict] = []
    customers = 0

    async def flush(force: bool = False) -> None:
        if day_rows and (force or len(day_rows) >= INSERT_BATCH):
            await session.execute(table_of(CustomerDay).insert(), day_rows)
            day_rows.clear()
        if summaries and (force or len(summaries) >= INSERT_BATCH):
            await session.execute(table_of(CustomerSummary).insert(), summaries)
            summaries.clear()

    def add(customer_id: int, orders: list[tuple[datetime, int]]) -> None:
        print_ = footprint(orders)
        day_rows.extend(print_.rows(customer_id))
        summaries.append(print_.summary(customer_id))
        for day, values in _shop_delta(Footprint({}), print_).items():
            for i, value in enumerate(values):
                shop[day][i] += value
        cells.update(print_.cells())

    current: int | None = None  # the customer whose orders are pending; None before the first row
    pending: list[tuple[datetime, int]] = []
    async for customer_id, ordered_at, amount in result:
        if current is not None and customer_id != current:
            add(current, pending)
            customers += 1
            pending = []
            await flush()
        current = customer_id
        pending.append((ordered_at, amount))
    if current is not None:
        add(current, pending)
        customers += 1
    await flush(force=True)
    rows = [
        {"day": day, "orders": o, "revenue_minor": r, "new_customers": n}
        for day, (o, r, n) in sorted(shop.items())
    ]
    for start in range(0, len(rows), INSERT_BATCH):
        await session.execute(table_of(ShopDay).insert(), rows[start : start + INSERT_BATCH])
    cell_rows = [{"cohort": c, "month": m, "customers": n} for (c, m), n in sorted(cells.items())]
    if cell_rows:
        await session.execute(table_of(CohortCell).insert(), cell_rows)
    return customers
