"""Turning a Report into localized text: numbers formatted here, words in templates/<locale>/analytics/."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from bot.analytics.metrics import KEYS, Report
from bot.i18n import Templates

MONEY = {"revenue", "average_order_value", "clv"}
TWO_DECIMALS = {"purchase_frequency"}
MINUS = "\u2212"


def number(value: Any, *, decimals: int = 1, signed: bool = False) -> str | None:
    """'1,234', '12.5', '+3', '−0.5'; None stays None (templates print "no data")."""
    if value is None:
        return None
    text = f"{value:+,}" if signed and isinstance(value, int) else f"{value:,}"
    if isinstance(value, float):
        text = f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"
    return text.replace("-", MINUS)


def decimals_for(key: str, exponent: int) -> int:
    if key in MONEY:
        return exponent
    return 2 if key in TWO_DECIMALS else 1


def formatted(values: dict[str, Any], exponent: int, *, signed: bool = False) -> dict[str, str | None]:
    return {
        key: number(value, decimals=decimals_for(key, exponent), signed=signed)
        for key, value in values.items()
    }


def section_changes(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    return {
        key: None if now[key] is None or before.get(key) is None else now[key] - before[key] for key in now
    }


def stats_values(report: Report, *, exponent: int, churn_days: int) -> dict[str, Any]:
    """Template values: `f` formatted figures, `d` formatted changes, `p` the previous period."""
    return {
        "start": report.period.first_date.isoformat(),
        "end": report.period.last_date.isoformat(),
        "days": report.period.days,
        "churn_days": churn_days,
        "f": formatted(report.current, exponent),
        "d": formatted({key: report.change(key) for key in KEYS}, exponent, signed=True),
    }


def render_stats(templates: Templates, locale: str, report: Report, *, exponent: int, churn_days: int) -> str:
    """The core figures, then one block per provider section (each with its own template)."""
    parts = [
        templates.render(
            locale, "analytics/stats.html", **stats_values(report, exponent=exponent, churn_days=churn_days)
        )
    ]
    for now, before in report.sections:
        parts.append(
            templates.render(
                locale,
                f"analytics/sections/{now.key}.html",
                f=formatted(now.data, exponent),
                d=formatted(section_changes(now.data, before.data), exponent, signed=True),
            )
        )
    return "\n\n".join(parts)


TAG = re.compile(r"<[^>]+>")


def plain(html: str) -> str:
    """Telegram HTML to terminal text (the CLI prints the same templates)."""
    return unescape(TAG.sub("", html)).replace("\u2068", "").replace("\u2069", "")
