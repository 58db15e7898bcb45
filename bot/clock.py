"""Time source for domain rules and jobs, replaceable in tests."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    """The real clock; every rule asks it instead of calling datetime.now() itself."""

    def now(self) -> datetime:
        return datetime.now(UTC)
