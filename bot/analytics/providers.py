"""Extra /stats sections from other features: PROVIDERS are async functions `(session, *, start, end)` that
return a Section; /stats renders it with `templates/<locale>/analytics/sections/<key>.html` and --json puts
its data under `key`. Referrals and outreach are read from their storage modules once those exist (they are
built on other branches); until then their sections say "no data".
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.points import points_summary


@dataclass(frozen=True)
class Section:
    key: str  # JSON key, and the template analytics/sections/<key>.html
    data: dict[str, Any]  # None values are shown as "no data"


Provider = Callable[..., Awaitable[Section]]


def optional_module(name: str) -> ModuleType | None:
    """A storage module of a feature that may not be merged yet."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:  # the module exists but is broken: say so
            raise
        return None


def share(part: int | None, whole: int | None) -> float | None:
    return part / whole * 100 if part is not None and whole else None


async def points(session: AsyncSession, *, start: datetime, end: datetime) -> Section:
    """Loyalty points issued and redeemed in the period, and unspent at its end."""
    summary = await points_summary(session, start=start, end=end)
    return Section(
        "points",
        {"issued": summary.issued, "redeemed": summary.redeemed, "outstanding": summary.outstanding},
    )


async def referrals(session: AsyncSession, *, start: datetime, end: datetime) -> Section:
    """Friends invited and invitations that became customers (storage.referrals.referral_counts)."""
    module = optional_module("storage.referrals")
    if module is None:
        return Section("referrals", {"invited": None, "converted": None, "conversion_rate": None})
    invited, converted = await module.referral_counts(session, start=start, end=end)
    return Section(
        "referrals",
        {"invited": invited, "converted": converted, "conversion_rate": share(converted, invited)},
    )


async def outreach(session: AsyncSession, *, start: datetime, end: datetime) -> Section:
    """Win-back and birthday messages sent, and the share followed by a purchase within 14 days."""
    module = optional_module("storage.outreach_stats")
    counts: dict[str, tuple[int, int]] = {}
    if module is not None:
        counts = await module.outreach_stats(session, start=start, end=end)
    data: dict[str, Any] = {}
    for kind in ("winback", "birthday"):
        sent, followed = counts.get(kind, (None, None))
        data.update(
            {f"{kind}_sent": sent, f"{kind}_followed": followed, f"{kind}_share": share(followed, sent)}
        )
    return Section("outreach", data)


# Rendered in this order after the core figures. A feature adds its own provider here (and its templates).
PROVIDERS: list[Provider] = [points, referrals, outreach]


async def top_referrers(session: AsyncSession, *, start: datetime, end: datetime, limit: int) -> list | None:
    """The merchant's top-referrers view: rows (name, invited, converted); None before referrals exist."""
    module = optional_module("storage.referrals")
    if module is None or not hasattr(module, "top_referrers"):
        return None
    rows = await module.top_referrers(session, start=start, end=end, limit=limit)
    return [tuple(row) for row in rows]
