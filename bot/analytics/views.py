"""What /stats, /cohort, the chart and /export show, computed from the store (handlers and CLI share it)."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.analytics import metrics
from bot.analytics.periods import Period, month_label, month_period, parse_period, today_in
from bot.settings import Settings
from bot.surveys import scores
from storage import analytics as store
from storage.db import Database


def current_month(settings: Settings, now: datetime) -> int:
    today = today_in(settings.timezone, now)
    return today.year * 12 + today.month - 1


async def stats_report(
    session: AsyncSession, *, settings: Settings, now: datetime, period_text: str | None
) -> metrics.Report:
    """Raises BadPeriod for text that is not a period."""
    period = parse_period(period_text, today=today_in(settings.timezone, now))
    return await metrics.build_report(
        session,
        period=period,
        churn_days=settings.churn_days,
        zone=settings.timezone,
        exponent=settings.currency_exponent,
    )


@dataclass
class Cohorts:
    labels: list[str]  # YYYY-MM of each cohort, oldest first
    sizes: list[int]
    grid: list[list[float | None]]  # percent of the cohort ordering k months after; None = not yet

    def table(self, cohort_word: str, size_word: str, *, last: int | None = None) -> str:
        """Monospace text: cohort, size, then one column per month since the first order (the `last`
        cohorts only, when given)."""
        keep = slice(-last if last else None, None)
        labels, sizes, grid = self.labels[keep], self.sizes[keep], self.grid[keep]
        width = max((len(row) for row in grid), default=0)
        lines = [f"{cohort_word:<8} {size_word:>6} " + " ".join(f"{k:>4}" for k in range(width))]
        for label, size, row in zip(labels, sizes, grid, strict=True):
            cells = " ".join(f"{cell:>4.0f}" if cell is not None else "   ." for cell in row)
            lines.append(f"{label:<8} {size:>6} {cells}".rstrip())
        return "\n".join(lines) if labels else ""


async def cohorts(session: AsyncSession, *, settings: Settings, now: datetime) -> Cohorts:
    """The last `analytics_months` first-order months, each with its retention by months since."""
    last = current_month(settings, now)
    first = last - settings.analytics_months + 1
    cells = await store.cohort_cells(session, since=first)
    by_cohort: dict[int, dict[int, int]] = {}
    for cohort, month, customers in cells:
        by_cohort.setdefault(cohort, {})[month - cohort] = customers
    result = Cohorts([], [], [])
    for cohort in sorted(by_cohort):
        row = by_cohort[cohort]
        size = row.get(0, 0)
        if not size:
            continue
        result.labels.append(month_label(cohort))
        result.sizes.append(size)
        result.grid.append([row.get(k, 0) / size * 100 for k in range(last - cohort + 1)])
    return result


@dataclass
class Trend:
    months: list[str]
    active: list[int]
    churn: list[float | None]
    nps: list[float | None]


async def trend(session: AsyncSession, *, settings: Settings, now: datetime) -> Trend:
    """Per month (the current one up to today): active customers at its end, its churn rate and NPS."""
    today = today_in(settings.timezone, now).toordinal()
    last = current_month(settings, now)
    result = Trend([], [], [], [])
    for month in range(last - settings.analytics_months + 1, last + 1):
        whole = month_period(month)
        period = Period(whole.start, min(whole.end, today + 1))
        active_start = await store.active_at(session, day=period.start, window=settings.churn_days)
        lost = await store.lost(session, start=period.start, end=period.end, window=settings.churn_days)
        start, end = period.bounds(settings.timezone)
        answers = await store.survey_scores(session, start=start, end=end)
        result.months.append(month_label(month))
        result.active.append(await store.active_at(session, day=period.end, window=settings.churn_days))
        result.churn.append(metrics.ratio(lost, active_start, 100))
        result.nps.append(scores.nps(answers.get("nps", [])))
    return result


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # a spreadsheet must not run a customer's text as a formula
    return "" if value is None else value


def _day(ordinal: int | None) -> str:
    return date.fromordinal(ordinal).isoformat() if ordinal else ""


def _money(minor: int | None, exponent: int) -> str:
    return "" if minor is None else f"{minor / 10**exponent:.{exponent}f}"


EXPORTS = ("customers", "orders", "survey_responses")


HEADERS = {
    "customers": [
        "customer_id", "member_code", "locale", "joined_at", "marketing_opt_in",
        "first_order", "last_order", "orders", "revenue",
    ],
    "orders": [
        "order_id", "shop_order_id", "source", "customer_id", "amount", "currency", "status",
        "ordered_at", "refunded_at",
    ],
    "survey_responses": ["response_id", "customer_id", "kind", "score", "reason", "answered_at"],
}  # fmt: skip


def _customer_row(row: tuple, exponent: int) -> list:
    cid, code, locale, joined, opt_in, first, last, orders, revenue = row
    return [
        cid, _cell(code), _cell(locale), _cell(joined), int(opt_in), _day(first), _day(last),
        orders or 0, _money(revenue or 0, exponent),
    ]  # fmt: skip


def _order_row(row: tuple, exponent: int) -> list:
    oid, external, source, cid, amount, currency, status, ordered, refunded = row
    # The shop's order id comes from outside, like any text.
    return [
        oid, _cell(external), _cell(source), _cell(cid), _money(amount, exponent), _cell(currency),
        _cell(status), _cell(ordered), _cell(refunded),
    ]  # fmt: skip


def _response_row(row: tuple, _exponent: int) -> list:
    return [_cell(value) for value in row]


ROWS = {
    "customers": (store.stream_customers, _customer_row),
    "orders": (store.stream_orders, _order_row),
    "survey_responses": (store.stream_responses, _response_row),
}


async def export_csv(db: Database, *, name: str, exponent: int) -> bytes:
    """One CSV file (UTF-8 with BOM so spreadsheet programs read Arabic reasons correctly).

    Rows come in batches; each batch is written in a worker thread, so a large export does not hold the
    event loop: customers' updates are served between batches, and, as Python hands a busy thread's turn
    over every few milliseconds, while one is written."""
    stream, shape = ROWS[name]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS[name])

    def write(batch: list[tuple]) -> None:
        writer.writerows(shape(row, exponent) for row in batch)

    async with db.read_session() as session:
        async for batch in stream(session):
            await asyncio.to_thread(write, batch)
    return await asyncio.to_thread(lambda: ("\ufeff" + buffer.getvalue()).encode("utf-8"))
