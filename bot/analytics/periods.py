"""Periods for /stats: whole local days in SHOP_TIMEZONE, half-open [start, end)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo

from bot.formatting import TYPED_DIGITS

DEFAULT_PERIOD = "30d"
MAX_DAYS = 3660
_LAST_DAYS = re.compile(r"^(7|30|90)d$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


class BadPeriod(ValueError):
    """The period text is not one of the accepted forms."""


@dataclass(frozen=True)
class Period:
    start: int  # first local day (ordinal)
    end: int  # day after the last one

    @property
    def days(self) -> int:
        return self.end - self.start

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        return Period(self.start - self.days, self.start)

    @property
    def first_date(self) -> date:
        return date.fromordinal(self.start)

    @property
    def last_date(self) -> date:
        return date.fromordinal(self.end - 1)

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """The period as aware UTC datetimes: local midnight of the first day to that after the last."""
        return midnight(self.start, zone), midnight(self.end, zone)


def midnight(day: int, zone: tzinfo) -> datetime:
    return datetime.combine(date.fromordinal(day), time(0), tzinfo=zone).astimezone(UTC)


# Periods (and the one before) stay well inside what dates and time zones can represent: year 1 or 9999
# in a time zone away from UTC overflows.
EARLIEST = date(1900, 1, 1).toordinal()
LATEST = date(9999, 1, 1).toordinal()


def parse_period(text: str | None, *, today: date) -> Period:
    """'7d', '30d', '90d' (ending today), 'YYYY-MM', or 'YYYY-MM-DD..YYYY-MM-DD' (both days included)."""
    period = _parse(text, today=today)
    if period.previous().start < EARLIEST or period.end > LATEST:
        raise BadPeriod(text)
    return period


def _parse(text: str | None, *, today: date) -> Period:
    text = (text or DEFAULT_PERIOD).strip().lower().translate(TYPED_DIGITS)  # ٣٠d, ۳۰d
    try:
        if match := _LAST_DAYS.match(text):
            days = int(match.group(1))
            return Period(today.toordinal() - days + 1, today.toordinal() + 1)
        if match := _MONTH.match(text):
            first = date(int(match.group(1)), int(match.group(2)), 1)
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return Period(first.toordinal(), following.toordinal())
        if match := _RANGE.match(text):
            first, last = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
            if last < first or (last - first).days >= MAX_DAYS:
                raise BadPeriod(text)
            return Period(first.toordinal(), last.toordinal() + 1)
    except ValueError as error:  # 2026-13, 2026-02-30
        raise BadPeriod(text) from error
    raise BadPeriod(text)


def today_in(zone: tzinfo, now: datetime) -> date:
    return now.astimezone(zone).date()


def month_period(month: int) -> Period:
    """A month given as year * 12 + month - 1."""
    first = date(month // 12, month % 12 + 1, 1)
    nxt = month + 1
    return Period(first.toordinal(), date(nxt // 12, nxt % 12 + 1, 1).toordinal())


def month_label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"
