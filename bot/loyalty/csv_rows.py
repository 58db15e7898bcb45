"""One CSV row of `import-orders`: its checks, and importing it on its own (the row-by-row path, which
bot/loyalty/order_batches.py also takes for the rows it does not write in bulk)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.loyalty import purchases, rules
from bot.loyalty.order_events import OrderListeners
from bot.loyalty.refunds import reverse_part
from bot.settings import Settings
from storage.models import OrderStatus
from storage.orders import get_order

REQUIRED = ("order_id", "customer", "amount", "created_at")
STATUSES = {
    "": OrderStatus.PAID,
    "paid": OrderStatus.PAID,
    "refunded": OrderStatus.REFUNDED,
    "cancelled": OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
}
REASONS = {
    "amount_format": "amount is not a number like 1234.50 (1,234 is ambiguous: write 1234)",
    "amount_precision": "amount has too many decimals",
    "amount_zero": "amount must be more than zero",
    "amount_too_large": "amount is above LOYALTY_MAX_ORDER_AMOUNT",
    "amount_negative": "amount is negative",
    "order_id": "order_id is missing or longer than 128 characters",
    "date": "created_at is not an ISO date/time, lies in the future or is before 2000",
    "currency": "currency differs from CURRENCY",
    "customer": "customer is missing",
    "status": "status must be paid, refunded or cancelled",
}


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    reversed: int = 0
    unlinked: int = 0
    points: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_moment(text: str, settings: Settings) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.timezone)


def parse_row(row: dict[str, str], settings: Settings) -> tuple[str, int, datetime]:
    """(status, amount in minor units, ordered at) of a row; raises BadOrder (or ValueError) first thing,
    in the same order on both import paths so a bad row gets the same reason."""
    status = STATUSES.get(row.get("status", "").lower())
    if status is None:
        raise purchases.BadOrder("status")
    if not row.get("customer"):
        raise purchases.BadOrder("customer")
    amount = rules.parse_amount(
        row["amount"], exponent=settings.currency_exponent, max_units=settings.loyalty_max_order_amount
    )
    try:
        ordered_at = parse_moment(row["created_at"], settings)
    except ValueError:
        raise purchases.BadOrder("date") from None
    return status, amount, ordered_at


async def import_row(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    row: dict[str, str],
    report: ImportReport,
    *,
    listeners: OrderListeners,
) -> purchases.OrderOutcome | None:
    """Import one row inside the batch's transaction. Every BadOrder is raised before anything is
    written, so a bad row leaves the batch intact."""
    status, amount, ordered_at = parse_row(row, settings)
    existing = await get_order(session, external_id=row["order_id"].strip())
    if existing is not None and status == OrderStatus.REFUNDED and amount < existing.amount_minor:
        # A refund row for less than the order: a partial refund, handled like Shopify's (that share of the
        # points, once per refund id; without a refund_id column, once per amount).
        refund_id = (row.get("refund_id") or "").strip() or f"csv:{amount}"
        outcome = await reverse_part(
            session,
            settings=settings,
            listeners=listeners,
            now=now,
            external_id=existing.external_id,
            refund_id=refund_id,
            amount_minor=amount,
        )
        report.reversed += int(outcome.changed)
        report.duplicates += int(not outcome.changed)
        return None
    if existing is not None and status != OrderStatus.PAID:
        outcome = await purchases.reverse_order(
            session,
            settings=settings,
            listeners=listeners,
            now=now,
            external_id=existing.external_id,
            status=status,
        )
        report.reversed += int(outcome.changed)
        report.duplicates += int(not outcome.changed)
        return None
    result = await purchases.ingest_order(
        session,
        settings=settings,
        listeners=listeners,
        now=now,
        external_id=row["order_id"],
        amount_minor=amount,
        ordered_at=ordered_at,
        customer_ref=row["customer"],
        source="csv",
        status=status,
    )
    if not result.created:
        report.duplicates += 1
        return None
    report.imported += 1
    report.unlinked += int(result.customer_id is None)
    report.points += result.points
    return result
