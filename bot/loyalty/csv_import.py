"""`python -m bot import-orders FILE.csv`: shop orders from a CSV export, idempotent per row.

Columns: order_id, customer (member code, phone, Telegram id or the shop's customer id), amount (currency
units), created_at (ISO date or date-time; shop time zone when it has no offset), optional status
(paid, refunded, cancelled). Bad rows are reported with their line number and skipped; good rows are kept.
"""

from __future__ import annotations

import csv
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.loyalty import purchases
from bot.loyalty.csv_rows import REASONS, REQUIRED, ImportReport, import_row
from bot.loyalty.order_batches import BATCH_ROWS, import_chunk
from bot.loyalty.order_events import OrderListeners
from bot.settings import Settings
from storage.db import Database

__all__ = ["BATCH_ROWS", "CsvFormatError", "ImportReport", "import_orders", "import_rows_one_by_one"]

PROGRESS_MIN_ROWS = 1000
REFERENCE_ROWS = 200  # rows per transaction of the row-by-row path


class CsvFormatError(Exception):
    """The file as a whole cannot be read (missing, not CSV, required columns absent)."""


class Progress:
    """A one-line progress bar for large files, redrawn after each chunk (neither tqdm nor rich is a
    dependency, and one line of text does not need one); the CLI gives it stderr when that is a terminal."""

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


async def import_rows_one_by_one(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    chunk: list[tuple[int, dict[str, str]]],
    report: ImportReport,
    *,
    listeners: OrderListeners,
) -> list[purchases.OrderOutcome]:
    """The reference path: each row through `import_row` (ingest_order and its listeners, the rollups
    refreshed per order). The batch path must give the same results; the tests and the bench compare."""
    outcomes = []
    for line, row in chunk:
        try:
            outcome = await import_row(session, settings, now, row, report, listeners=listeners)
        except (purchases.BadOrder, ValueError) as error:
            reason = error.reason if isinstance(error, purchases.BadOrder) else str(error)
            report.errors.append((line, REASONS.get(reason, reason)))
            continue
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


async def import_orders(
    db: Database,
    settings: Settings,
    path: Path,
    *,
    listeners: OrderListeners,
    now: datetime,
    progress: TextIO | None = None,
    notify: Callable[[purchases.OrderOutcome], Awaitable[object]] | None = None,
    row_by_row: bool = False,
) -> ImportReport:
    """Import every good row of the file; raises CsvFormatError when the file itself is unusable.

    Rows are committed in chunks (one transaction each, BATCH_ROWS rows, written set-based by
    bot/loyalty/order_batches.py) so a large file pays neither a commit nor a rollup refresh per row, while
    the bot, sharing the database, waits at most one chunk for the write lock. After each chunk commits,
    `notify` is called for each order it created. `row_by_row` takes the reference path instead.
    """
    rows = read_rows(path)
    report = ImportReport()
    bar = Progress(len(rows), progress)
    size, importer = (REFERENCE_ROWS, import_rows_one_by_one) if row_by_row else (BATCH_ROWS, import_chunk)
    for first in range(0, len(rows), size):
        chunk = rows[first : first + size]
        async with db.session() as session:
            outcomes = await importer(session, settings, now, chunk, report, listeners=listeners)
        if notify is not None:
            for outcome in outcomes:
                await notify(outcome)
        bar.update(first + len(chunk))
    return report
