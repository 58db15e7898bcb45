"""The batch path of `import-orders`: a chunk of CSV rows in one transaction, written set-based.

Results are those of importing the rows one by one in file order (`csv_rows.import_row`, kept as the
reference; tests/test_loyalty_import_batches.py compares both): the same orders, ledger entries, rollups and
report. New orders are written in bulk, a few statements per segment of rows:

- the chunk's shop order ids already stored and its customers are read once (`find_customers`);
- each new paid order's tier is the customer's spend in the year before it, from one read of those
  customers' paid orders plus the orders written earlier in the chunk, as `spend_since` would see them;
- orders and their `order:<id>` ledger entries go in with INSERT … ON CONFLICT DO NOTHING … RETURNING, so
  what another writer stored meanwhile counts as a duplicate, as it would one by one;
- the order listeners act only on some customers (`OrderListeners.order_audiences`: referees awaiting a first
  purchase, customers with open win-back or unconverted marketing messages); their rows, and refund or
  cancel rows of known orders, go through `import_row` one by one, after the rows before them are written;
- the rollups of every customer the chunk touched are refreshed once, at its end (`refresh_customers`).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.loyalty import purchases, rules
from bot.loyalty.csv_rows import REASONS, ImportReport, import_row, parse_row
from bot.loyalty.order_events import OrderListeners
from bot.settings import Settings
from storage import order_batches as store
from storage.loyalty import find_customers
from storage.models import Order, OrderStatus
from storage.rollups import refresh_customers
from storage.types import utcnow

BATCH_ROWS = 1000  # rows per transaction: the bot waits at most one batch for the write lock


@dataclass(frozen=True)
class NewOrder:
    """A checked row that creates an order, waiting to be written with its segment."""

    external_id: str
    amount_minor: int
    ordered_at: datetime  # UTC, as read back from the store
    status: str
    customer_id: int | None
    customer_ref: str | None


class Spend:
    """Paid spend per customer in a time window: what was stored before the segment (sorted, summed once)
    plus the segment's own orders as they are written."""

    def __init__(self, stored: list[tuple[int, datetime, int]]) -> None:
        by_customer: dict[int, list[tuple[datetime, int]]] = {}
        for customer_id, ordered_at, amount in stored:
            by_customer.setdefault(customer_id, []).append((ordered_at, amount))
        self.moments: dict[int, list[datetime]] = {}
        self.sums: dict[int, list[int]] = {}
        for customer_id, orders in by_customer.items():
            orders.sort()
            self.moments[customer_id] = [moment for moment, _ in orders]
            self.sums[customer_id] = [0, *accumulate(amount for _, amount in orders)]
        self.added: dict[int, list[tuple[datetime, int]]] = {}

    def between(self, customer_id: int, since: datetime, until: datetime) -> int:
        moments, sums = self.moments.get(customer_id, []), self.sums.get(customer_id, [0])
        stored = sums[bisect_left(moments, until)] - sums[bisect_left(moments, since)]
        added = self.added.get(customer_id, ())
        return stored + sum(amount for moment, amount in added if since <= moment < until)

    def add(self, customer_id: int, ordered_at: datetime, amount: int) -> None:
        self.added.setdefault(customer_id, []).append((ordered_at, amount))


async def write_new_orders(
    session: AsyncSession, settings: Settings, now: datetime, new: list[NewOrder], report: ImportReport
) -> tuple[list[purchases.OrderOutcome], set[int]]:
    """Store a segment of new orders and book their points; returns their outcomes (in row order) and the
    customers whose rollups need a refresh."""
    customers = {order.customer_id for order in new if order.customer_id is not None}  # locked by the chunk
    window = timedelta(days=rules.TIER_WINDOW_DAYS)
    earning = [order for order in new if order.customer_id is not None and order.status == OrderStatus.PAID]
    spend = Spend(
        await store.paid_orders_between(
            session,
            customer_ids={order.customer_id for order in earning if order.customer_id is not None},
            since=min(order.ordered_at for order in earning) - window,
            until=max(order.ordered_at for order in earning),
        )
        if earning
        else []
    )
    created_at = utcnow()
    orders = [
        Order(
            external_id=row.external_id,
            source="csv",
            customer_id=row.customer_id,
            customer_ref=row.customer_ref,
            amount_minor=row.amount_minor,
            currency=settings.currency.upper(),
            status=row.status,
            ordered_at=row.ordered_at,
            refunded_at=None if row.status == OrderStatus.PAID else now,
            created_at=created_at,
        )
        for row in new
    ]
    ids = await store.insert_orders(session, rows=[order.model_dump(exclude={"id"}) for order in orders])
    programme = settings.loyalty_programme
    pending = timedelta(days=settings.loyalty_pending_days)
    outcomes: list[purchases.OrderOutcome] = []
    entries: list[dict] = []
    for order in orders:
        if order.external_id not in ids:  # stored by another writer since the chunk was read
            report.duplicates += 1
            continue
        order.id = ids[order.external_id]
        customer_id = order.customer_id
        if order.status != OrderStatus.PAID or customer_id is None:
            outcomes.append(purchases.OrderOutcome(order, True, customer_id, 0, None, None))
            continue
        tier = programme.tier_for(
            spend.between(customer_id, order.ordered_at - window, order.ordered_at),
            settings.currency_exponent,
        )
        spend.add(customer_id, order.ordered_at, order.amount_minor)
        points = rules.points_for(
            order.amount_minor,
            per_unit=settings.loyalty_points_per_unit,
            multiplier=tier.multiplier,
            exponent=settings.currency_exponent,
        )
        available_at = order.ordered_at + pending
        if points > 0:
            entries.append(
                {
                    "customer_id": customer_id,
                    "delta": points,
                    "kind": "earn",
                    "idempotency_key": f"order:{order.id}",
                    "order_id": order.id,
                    "available_at": available_at,
                    "note": order.external_id[:255],
                    "created_at": created_at,
                }
            )
        outcomes.append(purchases.OrderOutcome(order, True, customer_id, points, available_at, tier.name))
    booked = await store.add_points_entries(session, entries=entries) if entries else set()
    final = []
    for outcome in outcomes:
        if outcome.points and f"order:{outcome.order.id}" not in booked:
            outcome = purchases.OrderOutcome(
                outcome.order, True, outcome.customer_id, 0, outcome.available_at, outcome.tier
            )
        report.imported += 1
        report.unlinked += int(outcome.customer_id is None)
        report.points += outcome.points
        final.append(outcome)
    return final, customers


async def import_chunk(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    chunk: list[tuple[int, dict[str, str]]],
    report: ImportReport,
    *,
    listeners: OrderListeners,
) -> list[purchases.OrderOutcome]:
    """Import the (line, row) pairs of one chunk inside the caller's transaction; returns the outcomes
    of the orders it created, in row order (what the notify option tells)."""
    known = await store.known_external_ids(
        session, external_ids=(row.get("order_id", "").strip() for _, row in chunk)
    )
    refs = {line: purchases.normalize_ref(row.get("customer")) for line, row in chunk}
    found = await find_customers(session, refs=[ref for ref in refs.values() if ref is not None])
    ids = sorted({customer.id for customer in found.values() if customer.id is not None})
    # All of them at once, in id order, before anything else is locked: a bot transaction locking two of
    # them cannot meet this one halfway in the opposite order (PostgreSQL; SQLite holds the database lock).
    await store.lock_customers(session, customer_ids=ids)
    one_by_one: set[int | None] = set()
    audiences = listeners.audiences()
    if audiences is None:  # a listener may act on any order: all of them go one by one
        one_by_one = {None, *ids}
    for audience in audiences or ():
        one_by_one |= await audience(session, customer_ids=ids)
    outcomes: list[purchases.OrderOutcome] = []
    touched: set[int] = set()
    segment: list[NewOrder] = []

    async def flush() -> None:
        if segment:
            written, customers = await write_new_orders(session, settings, now, segment, report)
            outcomes.extend(written)
            touched.update(customers)
            segment.clear()

    for line, row in chunk:
        try:
            status, amount, ordered_at = parse_row(row, settings)
            external_id = row["order_id"].strip()
            ref = refs[line]
            customer = found.get(ref.strip()) if ref is not None else None
            customer_id = customer.id if customer is not None else None
            if (external_id in known and status != OrderStatus.PAID) or (
                external_id not in known and customer_id in one_by_one
            ):
                await flush()  # the rows before it are stored first, as one by one
                outcome = await import_row(session, settings, now, row, report, listeners=listeners)
                known.add(external_id)
                if outcome is not None:
                    outcomes.append(outcome)
                continue
            purchases.validate_order(
                settings,
                external_id=external_id,
                amount_minor=amount,
                ordered_at=ordered_at,
                now=now,
                currency=settings.currency.upper(),
            )
        except (purchases.BadOrder, ValueError) as error:
            reason = error.reason if isinstance(error, purchases.BadOrder) else str(error)
            report.errors.append((line, REASONS.get(reason, reason)))
            continue
        if external_id in known:  # a paid row of a stored order: a retry
            report.duplicates += 1
            continue
        known.add(external_id)
        segment.append(NewOrder(external_id, amount, ordered_at.astimezone(UTC), status, customer_id, ref))
    await flush()
    await refresh_customers(session, customer_ids=touched)
    return outcomes
