"""Analytics queries over the rollups (storage/rollups.py): each is a count or sum over a range of days.

Days are local-day ordinals; a range [start, end) is half-open. "Active at day t" means at the midnight
that starts day t: an order on one of the `window` days before it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as sa_select  # sqlmodel.select is typed for at most four columns
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CohortCell, Customer, CustomerDay, CustomerSummary, Order, ShopDay, SurveyResponse


async def shop_totals(session: AsyncSession, *, start: int, end: int) -> tuple[int, int, int]:
    """(paid orders, revenue in minor units, first-time customers) of known customers in [start, end)."""
    row = (
        await session.exec(
            select(
                func.coalesce(func.sum(ShopDay.orders), 0),
                func.coalesce(func.sum(ShopDay.revenue_minor), 0),
                func.coalesce(func.sum(ShopDay.new_customers), 0),
            ).where(col(ShopDay.day) >= start, col(ShopDay.day) < end)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def customers_before(session: AsyncSession, *, end: int) -> int:
    """Customers whose first paid order is before day `end`."""
    total = await session.exec(
        select(func.coalesce(func.sum(ShopDay.new_customers), 0)).where(col(ShopDay.day) < end)
    )
    return int(total.one())


async def active_at(session: AsyncSession, *, day: int, window: int) -> int:
    """Customers with an order in [day - window, day): counted on their last order day before `day`."""
    statement = select(func.count()).where(
        col(CustomerDay.day) >= day - window,
        col(CustomerDay.day) < day,
        or_(col(CustomerDay.next_day).is_(None), col(CustomerDay.next_day) >= day),
    )
    return int((await session.exec(statement)).one())


async def buyers(session: AsyncSession, *, start: int, end: int) -> tuple[int, int]:
    """(customers ordering in [start, end), those of them ordering more than once in it).

    Each customer is counted on their first order day in the range; they ordered again in it if that day
    had two orders or their next order day is still inside the range.
    """
    again = or_(
        col(CustomerDay.orders) >= 2,
        and_(col(CustomerDay.next_day).is_not(None), col(CustomerDay.next_day) < end),
    )
    statement = select(func.count(), func.coalesce(func.sum(case((again, 1), else_=0)), 0)).where(
        col(CustomerDay.day) >= start,
        col(CustomerDay.day) < end,
        or_(col(CustomerDay.prev_day).is_(None), col(CustomerDay.prev_day) < start),
    )
    row = (await session.exec(statement)).one()
    return int(row[0]), int(row[1])


async def lost(session: AsyncSession, *, start: int, end: int, window: int) -> int:
    """Customers active at `start` and not active at `end`.

    Such a customer's last order before `end` is before `end - window`. Either it is also before `start`
    (then it made them active at start), or they ordered during the period and their order before the
    period made them active at start: that second case needs the period to be longer than the window.
    """
    last_before_end = or_(col(CustomerDay.next_day).is_(None), col(CustomerDay.next_day) >= end)
    count = int(
        (
            await session.exec(
                select(func.count()).where(
                    col(CustomerDay.day) >= start - window,
                    col(CustomerDay.day) < min(start, end - window),
                    last_before_end,
                )
            )
        ).one()
    )
    if end - window <= start:
        return count
    first, last = aliased(CustomerDay), aliased(CustomerDay)
    statement = (
        select(func.count())
        .select_from(first)
        .join(last, col(last.customer_id) == first.customer_id)
        .where(
            col(first.day) >= start,
            col(first.day) < end,
            col(first.prev_day) >= start - window,
            col(first.prev_day) < start,
            col(last.day) >= start,
            col(last.day) < end - window,
            or_(col(last.next_day).is_(None), col(last.next_day) >= end),
        )
    )
    return count + int((await session.exec(statement)).one())


async def survey_scores(session: AsyncSession, *, start: datetime, end: datetime) -> dict[str, list[int]]:
    """Scores of responses answered in [start, end), by survey kind."""
    result = await session.exec(
        select(SurveyResponse.kind, SurveyResponse.score).where(
            col(SurveyResponse.answered_at) >= start, col(SurveyResponse.answered_at) < end
        )
    )
    scores: dict[str, list[int]] = {}
    for kind, score in result.all():
        scores.setdefault(kind, []).append(score)
    return scores


async def cohort_cells(session: AsyncSession, *, since: int) -> list[tuple[int, int, int]]:
    """(cohort month, month, customers) for cohorts from month `since` on."""
    result = await session.exec(
        select(CohortCell.cohort, CohortCell.month, CohortCell.customers)
        .where(col(CohortCell.cohort) >= since)
        .order_by(col(CohortCell.cohort), col(CohortCell.month))
    )
    return [(cohort, month, customers) for cohort, month, customers in result.all()]


EXPORT_BATCH = 500  # rows per batch of an export: the event loop serves other updates between batches


async def _batches(result: Any) -> AsyncIterator[list[tuple]]:
    async for part in result.partitions(EXPORT_BATCH):
        yield [tuple(row) for row in part]


async def stream_customers(session: AsyncSession) -> AsyncIterator[list[tuple]]:
    """Customers with their order summary (nulls when they never ordered), for the CSV export, in
    batches of EXPORT_BATCH rows."""
    result = await session.stream(
        sa_select(
            col(Customer.id),
            col(Customer.member_code),
            col(Customer.locale),
            col(Customer.created_at),
            col(Customer.marketing_opt_in),
            col(CustomerSummary.first_day),
            col(CustomerSummary.last_day),
            col(CustomerSummary.orders),
            col(CustomerSummary.revenue_minor),
        )
        .outerjoin(CustomerSummary, col(CustomerSummary.customer_id) == Customer.id)
        .order_by(col(Customer.id))
        .execution_options(yield_per=EXPORT_BATCH)
    )
    async for part in _batches(result):
        yield part


async def stream_orders(session: AsyncSession) -> AsyncIterator[list[tuple]]:
    result = await session.stream(
        sa_select(
            col(Order.id),
            col(Order.external_id),
            col(Order.source),
            col(Order.customer_id),
            col(Order.amount_minor),
            col(Order.currency),
            col(Order.status),
            col(Order.ordered_at),
            col(Order.refunded_at),
        )
        .order_by(col(Order.id))
        .execution_options(yield_per=EXPORT_BATCH)
    )
    async for part in _batches(result):
        yield part


async def stream_responses(session: AsyncSession) -> AsyncIterator[list[tuple]]:
    result = await session.stream(
        sa_select(
            col(SurveyResponse.id),
            col(SurveyResponse.customer_id),
            col(SurveyResponse.kind),
            col(SurveyResponse.score),
            col(SurveyResponse.reason),
            col(SurveyResponse.answered_at),
        )
        .order_by(col(SurveyResponse.id))
        .execution_options(yield_per=EXPORT_BATCH)
    )
    async for part in _batches(result):
        yield part
