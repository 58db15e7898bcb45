"""Time source for domain rules, jobs and pacing, replaceable in tests."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


class Clock:
    """The real clock; every rule asks it instead of calling datetime.now() itself, and bulk-send pacing
    asks it for monotonic time and to sleep (so tests can run pacing in virtual time)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
