"""Turning a Report into localized text: numbers formatted here, words in templates/<locale>/analytics/."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from bot.analytics.metrics import KEYS, Report
from bot.formatting import DEFAULT, Formats
from bot.i18n import Templates

MONEY = {"revenue", "average_order_value", "clv"}
TWO_DECIMALS = {"purchase_frequency"}
# Shown as percentages (Babel's, with the locale's sign); their changes are in percentage points.
PERCENT = {
    "retention_rate",
    "churn_rate",
    "repeat_purchase_rate",
    "csat",
    "ces",
    "conversion_rate",
    "winback_share",
    "birthday_share",
}
MINUS = "\u2212"


def number(
    value: Any, *, decimals: int = 1, signed: bool = False, locale: str = "en", formats: Formats = DEFAULT
) -> str | None:
    """'1,234', '12.5', '+3', '−0.5' (by Babel, in the locale and its digits); None stays None (templates
    print "no data")."""
    if value is None:
        return None
    places = decimals if isinstance(value, float) else None
    return formats.number(locale, value, decimals=places, signed=signed).replace("-", MINUS)


def decimals_for(key: str, exponent: int) -> int:
    if key in MONEY:
        return exponent
    return 2 if key in TWO_DECIMALS else 1


def formatted(
    values: dict[str, Any],
    exponent: int,
    *,
    signed: bool = False,
    locale: str = "en",
    formats: Formats = DEFAULT,
) -> dict[str, str | None]:
    return {
        key: (
            formats.percent(locale, value)
            if key in PERCENT and not signed and value is not None
            else number(
                value, decimals=decimals_for(key, exponent), signed=signed, locale=locale, formats=formats
            )
        )
        for key, value in values.items()
    }


def section_changes(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    return {
        key: None if now[key] is None or before.get(key) is None else now[key] - before[key] for key in now
    }


def stats_values(
    report: Report, *, exponent: int, churn_days: int, locale: str = "en", formats: Formats = DEFAULT
) -> dict[str, Any]:
    """Template values: `f` formatted figures, `d` formatted changes, `n` the figures as numbers (for
    plurals)."""
    changes = {key: report.change(key) for key in KEYS}
    return {
        "start": report.period.first_date,
        "end": report.period.last_date,
        "days": report.period.days,
        "churn_days": churn_days,
        "f": formatted(report.current, exponent, locale=locale, formats=formats),
        "d": formatted(changes, exponent, signed=True, locale=locale, formats=formats),
        "n": report.current,
    }


def render_stats(templates: Templates, locale: str, report: Report, *, exponent: int, churn_days: int) -> str:
    """The core figures, then one block per provider section (each with its own template)."""
    formats = templates.formats
    parts = [
        templates.render(
            locale,
            "analytics/stats.html",
            **stats_values(report, exponent=exponent, churn_days=churn_days, locale=locale, formats=formats),
        )
    ]
    for now, before in report.sections:
        parts.append(
            templates.render(
                locale,
                f"analytics/sections/{now.key}.html",
                f=formatted(now.data, exponent, locale=locale, formats=formats),
                d=formatted(
                    section_changes(now.data, before.data),
                    exponent,
                    signed=True,
                    locale=locale,
                    formats=formats,
                ),
            )
        )
    return "\n\n".join(parts)


TAG = re.compile(r"<[^>]+>")


def plain(html: str) -> str:
    """Telegram HTML to terminal text (the CLI prints the same templates)."""
    return unescape(TAG.sub("", html)).replace("\u2068", "").replace("\u2069", "")
