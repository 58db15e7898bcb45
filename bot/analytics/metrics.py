"""The /stats figures, with the product brief's formulas (docs/analytics.md), for a period and the one before.

Counts come from the rollups (storage/analytics.py), survey scores from bot/surveys/scores.py. A rate whose
denominator is zero is None ("no data"), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.analytics.periods import Period
from bot.analytics.providers import PROVIDERS, Section
from bot.surveys import scores
from storage import analytics as store

DAYS_PER_YEAR = 365

# The JSON keys, in display order; the same keys are compared with the previous period.
KEYS = (
    "customers_total",
    "new_customers",
    "active_start",
    "active_end",
    "lost_customers",
    "retention_rate",
    "churn_rate",
    "buyers",
    "repeat_buyers",
    "repeat_purchase_rate",
    "purchase_frequency",
    "orders",
    "revenue",
    "average_order_value",
    "clv",
    "nps",
    "nps_responses",
    "csat",
    "csat_responses",
    "ces",
    "ces_responses",
)


def ratio(numerator: float, denominator: float, scale: float = 1) -> float | None:
    return numerator / denominator * scale if denominator else None


def clv(
    aov: float | None, frequency: float | None, churn_rate: float | None, period_days: int
) -> float | None:
    """CLV = AOV x purchase frequency per year x lifespan in years, lifespan = 1 / yearly churn rate.

    The period's churn is compounded over a year: yearly churn = 1 - (1 - churn) ** (365 / days). With no
    churn at all the lifespan is unbounded and CLV is not given.
    """
    if aov is None or frequency is None or not churn_rate:
        return None
    periods_per_year = DAYS_PER_YEAR / period_days
    yearly_churn = 1 - (1 - churn_rate / 100) ** periods_per_year
    if yearly_churn <= 0:
        return None
    return aov * frequency * periods_per_year / yearly_churn


async def figures(
    session: AsyncSession, *, period: Period, churn_days: int, zone: tzinfo, exponent: int
) -> dict[str, Any]:
    """Every figure of one period (money in currency units)."""
    s, e, window = period.start, period.end, churn_days
    orders, revenue_minor, new = await store.shop_totals(session, start=s, end=e)
    active_start = await store.active_at(session, day=s, window=window)
    active_end = await store.active_at(session, day=e, window=window)
    lost = await store.lost(session, start=s, end=e, window=window)
    buyers, repeaters = await store.buyers(session, start=s, end=e)
    revenue = revenue_minor / 10**exponent
    aov = ratio(revenue, orders)
    frequency = ratio(orders, buyers)
    churn = ratio(lost, active_start, 100)
    start_at, end_at = period.bounds(zone)
    answers = await store.survey_scores(session, start=start_at, end=end_at)
    return {
        "customers_total": await store.customers_before(session, end=e),
        "new_customers": new,
        "active_start": active_start,
        "active_end": active_end,
        "lost_customers": lost,
        "retention_rate": ratio(active_end - new, active_start, 100),
        "churn_rate": churn,
        "buyers": buyers,
        "repeat_buyers": repeaters,
        "repeat_purchase_rate": ratio(repeaters, buyers, 100),
        "purchase_frequency": frequency,
        "orders": orders,
        "revenue": revenue,
        "average_order_value": aov,
        "clv": clv(aov, frequency, churn, period.days),
        "nps": scores.nps(answers.get("nps", [])),
        "nps_responses": len(answers.get("nps", [])),
        "csat": scores.csat(answers.get("csat", [])),
        "csat_responses": len(answers.get("csat", [])),
        "ces": scores.ces(answers.get("ces", [])),
        "ces_responses": len(answers.get("ces", [])),
    }


@dataclass
class Report:
    period: Period
    current: dict[str, Any]
    previous: dict[str, Any]
    sections: list[tuple[Section, Section]] = field(default_factory=list)  # (current, previous)

    def change(self, key: str) -> float | None:
        now, before = self.current.get(key), self.previous.get(key)
        return None if now is None or before is None else now - before

    def as_json(self) -> dict[str, Any]:
        """The --json document: figures at the top level, then the previous period and the changes."""

        def clean(values: dict[str, Any]) -> dict[str, Any]:
            return {
                key: round(value, 2) if isinstance(value, float) else value for key, value in values.items()
            }

        document: dict[str, Any] = {
            "period": {
                "start": self.period.first_date.isoformat(),
                "end": self.period.last_date.isoformat(),
                "days": self.period.days,
            },
            **clean(self.current),
        }
        for now, before in self.sections:
            document[now.key] = {**now.data, "previous": before.data}
        document["previous"] = clean(self.previous)
        document["change"] = clean({key: self.change(key) for key in KEYS})
        return document


async def build_report(
    session: AsyncSession, *, period: Period, churn_days: int, zone: tzinfo, exponent: int
) -> Report:
    """The period's figures, the previous period's, and every provider's section for both."""
    report = Report(
        period,
        await figures(session, period=period, churn_days=churn_days, zone=zone, exponent=exponent),
        await figures(session, period=period.previous(), churn_days=churn_days, zone=zone, exponent=exponent),
    )
    for provider in PROVIDERS:
        start, end = period.bounds(zone)
        before_start, before_end = period.previous().bounds(zone)
        report.sections.append(
            (
                await provider(session, start=start, end=end),
                await provider(session, start=before_start, end=before_end),
            )
        )
    return report
