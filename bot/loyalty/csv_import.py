"""`python -m bot import-orders FILE.csv`: shop orders from a CSV export, one idempotent unit per row.

Columns: order_id, customer (member code, phone, Telegram id or the shop's customer id), amount (currency
units), created_at (ISO date or date-time; shop time zone when it has no offset), optional status
(paid, refunded, cancelled). Bad rows are reported with their line number and skipped; good rows are kept.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.loyalty import purchases, rules
from bot.loyalty.order_events import OrderListeners
from bot.loyalty.refunds import reverse_part
from bot.settings import Settings
from storage.db import Database
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
    "date": "created_at is not an ISO date/time or lies in the future",
    "currency": "currency differs from CURRENCY",
    "customer": "customer is missing",
    "status": "status must be paid, refunded or cancelled",
}
PROGRESS_MIN_ROWS = 1000
BATCH_ROWS = 200


class CsvFormatError(Exception):
    """The file as a whole cannot be read (missing, not CSV, required columns absent)."""


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    reversed: int = 0
    unlinked: int = 0
    points: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


class Progress:
    """A one-line progress bar on stderr for large files (no dependency needed)."""

    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.total, self.stream, self.shown = total, stream, -1

    def update(self, done: int) -> None:
        if self.stream is None or self.total < PROGRESS_MIN_ROWS:
            return
        percent = done * 100 // self.total
        if percent != self.shown:
            self.shown = percent
            bar = "#" * (percent // 5) + "." * (20 - percent // 5)
            self.stream.write(f"\rimporting [{bar}] {percent:3d}% {done}/{self.total}")
            if done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def parse_moment(text: str, settings: Settings) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.timezone)


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = handle.readline()
            handle.seek(0)
            # Spreadsheets set to many non-English locales save CSV with ";" (or tabs) between columns.
            delimiter = max((",", ";", "\t"), key=header.count)
            reader = csv.DictReader(handle, delimiter=delimiter)
            columns = {name.strip().lower() for name in reader.fieldnames or ()}
            missing = [name for name in REQUIRED if name not in columns]
            if missing:
                raise CsvFormatError(f"missing column(s): {', '.join(missing)}")
            rows = []
            for row in reader:
                clean = {
                    (key or "").strip().lower(): (value or "").strip()
                    for key, value in row.items()
                    if isinstance(value, str)
                }
                rows.append((reader.line_num, clean))
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CsvFormatError(str(error)) from None


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


async def import_orders(
    db: Database,
    settings: Settings,
    path: Path,
    *,
    listeners: OrderListeners,
    now: datetime,
    progress: TextIO | None = sys.stderr,
    notify: Callable[[purchases.OrderOutcome], Awaitable[object]] | None = None,
) -> ImportReport:
    """Import every good row of the file; raises CsvFormatError when the file itself is unusable.

    Rows are committed in batches (one transaction each) so a large file does not pay a commit per row,
    while the bot, sharing the database, waits at most one batch for the write lock.
    """
    rows = read_rows(path)
    report = ImportReport()
    bar = Progress(len(rows), progress)
    for first in range(0, len(rows), BATCH_ROWS):
        batch = rows[first : first + BATCH_ROWS]
        outcomes = []
        async with db.session() as session:
            for line, row in batch:
                try:
                    outcome = await import_row(session, settings, now, row, report, listeners=listeners)
                except (purchases.BadOrder, ValueError) as error:
                    reason = error.reason if isinstance(error, purchases.BadOrder) else str(error)
                    report.errors.append((line, REASONS.get(reason, reason)))
                    continue
                if outcome is not None:
                    outcomes.append(outcome)
        if notify is not None:
            for outcome in outcomes:
                await notify(outcome)
        bar.update(first + len(batch))
    return report
