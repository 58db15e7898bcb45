"""Purchase intake, the one place orders turn into points: /award, CSV import and shop webhooks call
`ingest_order` and `reverse_order`; customers joining or sharing their phone call `link_customer`.

Everything here is idempotent on the shop's order id, so retries never double-award. Other features hook
in through the `OrderListeners` the caller passes (`bot/loyalty/order_events.py`; filled by
`bot/app.py:order_listeners`), called inside the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.loyalty import rules
from bot.loyalty.balances import points_balance
from bot.loyalty.order_events import OrderListeners, OrderOutcome, ReversalOutcome
from bot.settings import Settings
from storage import loyalty as store
from storage.models import Customer, Order, OrderStatus
from storage.orders import record_order, refund_order
from storage.points import add_points, add_welcome_bonus, lock_customer
from storage.typed import saved_id

MAX_FUTURE = timedelta(days=1)  # clock skew allowance for order dates
# Older order dates are typos or forgeries ("0001-01-01"); date arithmetic on them overflows.
EARLIEST_ORDER_DATE = datetime(2000, 1, 1, tzinfo=UTC)


class BadOrder(ValueError):
    """An order that must not enter the store; `reason` names a template message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def expire_after(settings: Settings) -> timedelta | None:
    return timedelta(days=settings.loyalty_expiry_days) if settings.loyalty_expiry_days else None


async def balance(session: AsyncSession, *, settings: Settings, customer_id: int, now: datetime):
    return await points_balance(
        session, customer_id=customer_id, now=now, expire_after=expire_after(settings)
    )


def normalize_ref(ref: str | None) -> str | None:
    if ref is None or not ref.strip():
        return None
    ref = store.ascii_digits(ref.strip())  # so it matches the phone or id the customer shares later
    if store.MEMBER_CODE.match(ref.upper()):
        return ref.upper()
    if ref.startswith(("+", "00")):
        ref = store.normalize_phone(ref) or ref
    return ref[:128]  # the column's size: PostgreSQL refuses longer values


def validate_order(
    settings: Settings,
    *,
    external_id: str,
    amount_minor: int,
    ordered_at: datetime,
    now: datetime,
    currency: str,
) -> None:
    if not external_id or len(external_id) > 128:
        raise BadOrder("order_id")
    if amount_minor < 0:
        raise BadOrder("amount_negative")
    if amount_minor > settings.loyalty_max_order_amount * 10**settings.currency_exponent:
        raise BadOrder("amount_too_large")
    if ordered_at.tzinfo is None or not EARLIEST_ORDER_DATE <= ordered_at <= now + MAX_FUTURE:
        raise BadOrder("date")
    if currency.upper() != settings.currency:
        raise BadOrder("currency")


async def award_order_points(
    session: AsyncSession, *, settings: Settings, order: Order, customer_id: int
) -> OrderOutcome:
    """Earn points for a paid, linked order once (key order:<id>), at the tier its customer had then."""
    await lock_customer(session, customer_id=customer_id)
    spend = await store.spend_since(
        session,
        customer_id=customer_id,
        since=order.ordered_at - timedelta(days=rules.TIER_WINDOW_DAYS),
        until=order.ordered_at,
    )
    tier = settings.loyalty_programme.tier_for(spend, settings.currency_exponent)
    points = rules.points_for(
        order.amount_minor,
        per_unit=settings.loyalty_points_per_unit,
        multiplier=tier.multiplier,
        exponent=settings.currency_exponent,
    )
    available_at = order.ordered_at + timedelta(days=settings.loyalty_pending_days)
    awarded = points > 0 and await add_points(
        session,
        customer_id=customer_id,
        delta=points,
        kind="earn",
        key=f"order:{order.id}",
        available_at=available_at,
        order_id=order.id,
        note=order.external_id[:255],
    )
    return OrderOutcome(order, True, customer_id, points if awarded else 0, available_at, tier.name)


async def ingest_order(
    session: AsyncSession,
    *,
    settings: Settings,
    listeners: OrderListeners,
    now: datetime,
    external_id: str,
    amount_minor: int,
    ordered_at: datetime,
    customer_id: int | None = None,
    customer_ref: str | None = None,
    shop_customer_ref: str | None = None,
    source: str = "manual",
    currency: str | None = None,
    status: str = OrderStatus.PAID,
) -> OrderOutcome:
    """Record a shop order once and award its points to its customer (if known); raises BadOrder.

    `shop_customer_ref` is the shop's own id for the customer: when the order's customer is known here
    (e.g. by phone) it is remembered, and earlier orders filed under it are linked too.
    """
    external_id = external_id.strip()
    currency = (currency or settings.currency).upper()
    validate_order(
        settings,
        external_id=external_id,
        amount_minor=amount_minor,
        ordered_at=ordered_at,
        now=now,
        currency=currency,
    )
    ref = normalize_ref(customer_ref)
    if customer_id is None and ref is not None:
        customer = await store.find_customer(session, ref=ref)
        customer_id = customer.id if customer is not None else None
    order, created = await record_order(
        session,
        external_id=external_id,
        amount_minor=amount_minor,
        currency=currency,
        ordered_at=ordered_at,
        customer_id=customer_id,
        customer_ref=ref,
        source=source,
    )
    if not created:
        return OrderOutcome(order, False, order.customer_id, 0, None, None)
    if status != OrderStatus.PAID:
        await refund_order(session, external_id=external_id, refunded_at=now, status=status)
        outcome = OrderOutcome(order, True, customer_id, 0, None, None)
    elif customer_id is None:
        outcome = OrderOutcome(order, True, None, 0, None, None)
    else:
        outcome = await award_order_points(session, settings=settings, order=order, customer_id=customer_id)
        if shop_customer_ref and await store.remember_external_ref(
            session, customer_id=customer_id, ref=shop_customer_ref
        ):
            customer = await store.reload_customer(session, customer_id=customer_id)
            if customer is not None:
                await link_customer(session, settings=settings, customer=customer)
    await listeners.order_recorded(session, outcome)
    return outcome


async def reverse_order(
    session: AsyncSession,
    *,
    settings: Settings,
    listeners: OrderListeners,
    now: datetime,
    external_id: str,
    status: str = OrderStatus.REFUNDED,
) -> ReversalOutcome:
    """Refund or cancel an order and take back its points once; never below a zero balance."""
    order, changed = await refund_order(
        session, external_id=external_id.strip(), refunded_at=now, status=status
    )
    if order is None or not changed or order.customer_id is None:
        return ReversalOutcome(order, changed, order.customer_id if order else None, 0)
    customer_id = order.customer_id
    await lock_customer(session, customer_id=customer_id)
    entries = await store.order_points(session, order_id=saved_id(order))
    earned = sum(entry.delta for entry in entries if entry.delta > 0)
    already = -sum(entry.delta for entry in entries if entry.kind == "reverse")  # partial refunds
    current = await balance(session, settings=settings, customer_id=customer_id, now=now)
    taken = min(earned - already, current.available + current.pending)
    if taken > 0:
        await add_points(
            session,
            customer_id=customer_id,
            delta=-taken,
            kind="reverse",
            key=f"reverse:{order.id}",
            available_at=now,
            order_id=order.id,
            note=order.external_id[:255],
        )
    outcome = ReversalOutcome(order, True, customer_id, taken)
    await listeners.order_reversed(session, outcome)
    return outcome


async def link_customer(
    session: AsyncSession, *, settings: Settings, customer: Customer, locked: bool = False
) -> list[OrderOutcome]:
    """Attach the orders that named this customer before they were known, and award their points."""
    outcomes = []
    for order in await store.claim_unlinked_orders(
        session, customer=customer, locked=locked, ordered_since=EARLIEST_ORDER_DATE
    ):
        if order.status == OrderStatus.PAID and customer.id is not None:
            outcomes.append(
                await award_order_points(session, settings=settings, order=order, customer_id=customer.id)
            )
    return outcomes


async def welcome_customer(
    session: AsyncSession, *, settings: Settings, now: datetime, customer: Customer, fresh: bool = False
) -> tuple[int, list[OrderOutcome]]:
    """On joining: member code, the welcome bonus once (not again after a /forgetme), and any orders
    waiting for them. `fresh`: this transaction created the customer's row (so it holds its lock)."""
    if customer.id is None:
        raise ValueError("welcome_customer needs a stored customer")
    await store.ensure_member_code(session, customer=customer)
    bonus = settings.loyalty_welcome_bonus
    given = bonus > 0 and await add_welcome_bonus(
        session, customer_id=customer.id, telegram_id=customer.telegram_id, delta=bonus, now=now
    )
    linked = await link_customer(session, settings=settings, customer=customer, locked=fresh)
    return (bonus if given else 0), linked
