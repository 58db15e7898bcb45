"""Outreach rules as pure functions: birthday parsing and dates, win-back thresholds, segments, quiet
hours and the frequency cap. No I/O, so tests can pin them down with plain values."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from bot.formatting import NO_YEAR, TYPED_DIGITS  # NO_YEAR: a birthday without a year
from bot.loyalty import rules as loyalty_rules
from bot.settings import Settings

BIRTHDAY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{4}))?$")
# Direction marks that Arabic keyboards and copied text slip around digits (LRM, RLM, ALM, isolates,
# embeddings): invisible, so the customer cannot see why their date was refused.
BIDI_MARKS = dict.fromkeys(
    map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def parse_birthday(text: str, *, today: date) -> date | None:
    """'25-12', '25/12/1990', '٢٥-١٢' -> a date (year NO_YEAR when not given); None when not a birthday."""
    match = BIRTHDAY.match(text.translate(BIDI_MARKS).strip().translate(TYPED_DIGITS))
    if match is None:
        return None
    day, month = int(match.group(1)), int(match.group(2))
    year = int(match.group(3)) if match.group(3) else NO_YEAR
    if match.group(3) and not 1900 <= year <= today.year:
        return None
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    return None if match.group(3) and born > today else born


def birthday_in(birthday: date, year: int) -> date:
    """The day the birthday is celebrated in `year`: 29 February falls on 28 February in common years."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def next_birthday(birthday: date, today: date) -> date:
    this_year = birthday_in(birthday, today.year)
    return this_year if this_year >= today else birthday_in(birthday, today.year + 1)


def earns_reward(changed_at: datetime | None, celebrated: date, zone: ZoneInfo, lock_days: int) -> bool:
    """A birthday set or changed within lock_days before the day earns no reward that year."""
    if changed_at is None:
        return True
    day_start = datetime.combine(celebrated, time(0), zone)
    return changed_at <= day_start - timedelta(days=lock_days)


def winback_threshold(order_times: list[datetime], settings: Settings) -> timedelta:
    """How long without an order counts as lapsed for this customer: their own rhythm, bounded."""
    if len(order_times) < 2:
        return timedelta(days=settings.outreach_winback_one_time_days)
    ordered = sorted(order_times)
    gaps = [(later - earlier).total_seconds() / 86400 for earlier, later in pairwise(ordered)]
    days = Decimal(str(statistics.median(gaps))) * settings.outreach_winback_factor
    low, high = settings.outreach_winback_min_days, settings.outreach_winback_max_days
    return timedelta(days=float(min(max(days, Decimal(low)), Decimal(high))))


@dataclass(frozen=True)
class Standing:
    """Where a customer stands, from their paid orders."""

    last_order: datetime | None
    threshold: timedelta | None
    active: bool
    at_risk: bool  # past their win-back threshold, not yet lost
    spend_12m: int  # minor units, for the loyalty tier


def standing(orders: list[tuple[datetime, int]], now: datetime, settings: Settings) -> Standing:
    if not orders:
        return Standing(None, None, False, False, 0)
    times = [ordered_at for ordered_at, _ in orders]
    last = max(times)
    threshold = winback_threshold(times, settings)
    idle = now - last
    year_ago = now - timedelta(days=loyalty_rules.TIER_WINDOW_DAYS)
    spend = sum(amount for ordered_at, amount in orders if ordered_at > year_ago)
    return Standing(
        last_order=last,
        threshold=threshold,
        active=idle <= timedelta(days=settings.outreach_active_days),
        at_risk=threshold < idle < timedelta(days=settings.outreach_lost_days),
        spend_12m=spend,
    )


def tier_name(spend_minor: int, settings: Settings) -> str:
    return settings.loyalty_programme.tier_for(spend_minor, settings.currency_exponent).name


def segment_names(settings: Settings) -> list[str]:
    tiers = settings.loyalty_programme.tiers()
    return ["all", "active", "at-risk", *(tier.name.lower() for tier in tiers)]


def in_segment(segment: str, position: Standing, settings: Settings) -> bool:
    if segment == "all":
        return True
    if segment == "active":
        return position.active
    if segment == "at-risk":
        return position.at_risk
    return tier_name(position.spend_12m, settings).lower() == segment


def quiet_until(now: datetime, zone: ZoneInfo, settings: Settings) -> datetime | None:
    """The end of the quiet hours `now` falls in (aware UTC-comparable), or None outside them."""
    start, end = settings.outreach_quiet_start, settings.outreach_quiet_end
    if start == end:
        return None
    local = now.astimezone(zone)
    hour = local.hour
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    end_day = local.date() + timedelta(days=1) if start > end and hour >= start else local.date()
    return datetime.combine(end_day, time(end), zone)


def cap_until(recent: list[datetime], now: datetime, settings: Settings) -> datetime | None:
    """When the frequency cap lets the next marketing message go, or None if it may go now."""
    if settings.outreach_cap_hours == 0:
        return None
    window = timedelta(hours=settings.outreach_cap_hours)
    inside = sorted(moment for moment in recent if now - moment < window)
    if len(inside) < settings.outreach_cap_messages:
        return None
    return inside[-settings.outreach_cap_messages] + window
