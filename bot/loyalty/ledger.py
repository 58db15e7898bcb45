"""The points ledger's rules as pure functions: replaying a customer's append-only entries into lots (FIFO
spending, expiry after inactivity, reversals) and the balance they add up to. No database here: the
entries come from `storage.points.ledger_entries` (see bot/loyalty/balances.py)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.models import PointsEntry


@dataclass(frozen=True)
class Balance:
    available: int
    pending: int


@dataclass
class Lot:
    """Points from one positive ledger entry, and how many of them are still unspent."""

    entry_id: int
    order_id: int | None
    amount: int
    available_at: datetime
    expires_at: datetime | None
    remaining: int


def _take(lots: list[Lot], wanted: int) -> int:
    """Consume up to `wanted` points from `lots` in order; returns what could not be taken."""
    for lot in lots:
        if wanted <= 0:
            break
        used = min(lot.remaining, wanted)
        lot.remaining -= used
        wanted -= used
    return wanted


# Entries that are not the customer's own doing do not keep their points alive.
NOT_ACTIVITY = ("reverse", "expire", "forget")


def activity_moments(
    entries: list[PointsEntry], purchased_at: dict[int, datetime] | None = None
) -> list[datetime]:
    """When the customer was active: buying (the order's date when known, else when its points became
    available), spending, bonuses. Refunded orders do not count, nor do reversals and expiries."""
    reversed_orders = {entry.order_id for entry in entries if entry.kind == "reverse"}
    purchased_at = purchased_at or {}
    return sorted(
        purchased_at.get(entry.order_id, entry.available_at) if entry.order_id else entry.available_at
        for entry in entries
        if entry.delta != 0
        and entry.kind not in NOT_ACTIVITY
        and (entry.order_id is None or entry.order_id not in reversed_orders)
    )


def inactivity_expiry(activity: list[datetime], window: timedelta) -> Callable[[datetime], datetime]:
    """For sorted activity moments, a function: points available from `start` -> the moment they expire,
    the end of the first `window` without any activity after `start`."""
    # ends[i]: the last activity reachable from activity i without a gap of `window` (one pass, from the end).
    ends = list(activity)
    for i in range(len(activity) - 2, -1, -1):
        if activity[i + 1] - activity[i] < window:
            ends[i] = ends[i + 1]

    def expiry(start: datetime) -> datetime:
        following = bisect_right(activity, start)
        if following < len(activity) and activity[following] - start < window:
            return ends[following] + window
        return start + window

    return expiry


def replay_ledger(
    entries: list[PointsEntry],
    *,
    expire_after: timedelta | None,
    purchased_at: dict[int, datetime] | None = None,
) -> list[Lot]:
    """Rebuild the unspent lots from the append-only ledger, oldest first.

    With `expire_after`, points expire once the customer has been inactive that long (see
    activity_moments). Spends consume the oldest lot that is available and not expired at the moment of the
    spend (FIFO); a reversal tied to an order first takes back that order's own lot, even while it is still
    pending. `expire` entries only record an expiry that the replay already applies, so they consume nothing.
    A negative entry's moment is its `available_at` (set to the business clock by the writer).
    """
    ordered = sorted(entries, key=lambda e: (e.available_at, e.id or 0))
    expiry = (
        inactivity_expiry(activity_moments(ordered, purchased_at), expire_after) if expire_after else None
    )
    lots = [
        Lot(
            entry.id or 0,
            entry.order_id,
            entry.delta,
            entry.available_at,
            expiry(entry.available_at) if expiry else None,
            entry.delta,
        )
        for entry in ordered
        if entry.delta > 0
    ]
    for entry in ordered:
        if entry.delta >= 0 or entry.kind == "expire":
            continue
        at = entry.available_at
        wanted = -entry.delta
        if entry.kind == "reverse" and entry.order_id is not None:
            wanted = _take([lot for lot in lots if lot.order_id == entry.order_id], wanted)
        live = [
            lot for lot in lots if lot.available_at <= at and (lot.expires_at is None or lot.expires_at > at)
        ]
        wanted = _take(live, wanted)
        if wanted and entry.kind == "reverse":  # taking back points not yet available
            _take([lot for lot in lots if lot.available_at > at], wanted)
    return lots


def balance_of(lots: list[Lot], now: datetime) -> Balance:
    available = sum(
        lot.remaining
        for lot in lots
        if lot.available_at <= now and (lot.expires_at is None or lot.expires_at > now)
    )
    pending = sum(lot.remaining for lot in lots if lot.available_at > now)
    return Balance(available=available, pending=pending)
