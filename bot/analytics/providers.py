"""Extra /stats sections from other features: PROVIDERS are async functions `(session, *, start, end)` that
return a Section; /stats renders it with `templates/<locale>/analytics/sections/<key>.html` and --json puts
its data under `key`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.outreach_stats import outreach_stats
from storage.points import points_summary
from storage.referrals import referral_counts


@dataclass(frozen=True)
class Section:
    key: str  # JSON key, and the template analytics/sections/<key>.html
    data: dict[str, Any]  # None values are shown as "no data"


Provider = Callable[..., Awaitable[Section]]


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
    """Friends invited and invitations that became customers in the period."""
    invited, converted = await referral_counts(session, start=start, end=end)
    return Section(
        "referrals",
        {"invited": invited, "converted": converted, "conversion_rate": share(converted, invited)},
    )


async def outreach(session: AsyncSession, *, start: datetime, end: datetime) -> Section:
    """Win-back and birthday messages sent, and the share followed by a purchase within 14 days."""
    counts = await outreach_stats(session, start=start, end=end)
    data: dict[str, Any] = {}
    for kind in ("winback", "birthday"):
        sent, followed = counts.get(kind, (0, 0))
        data.update(
            {f"{kind}_sent": sent, f"{kind}_followed": followed, f"{kind}_share": share(followed, sent)}
        )
    return Section("outreach", data)


# Rendered in this order after the core figures. A feature adds its own provider here (and its templates).
PROVIDERS: list[Provider] = [points, referrals, outreach]
