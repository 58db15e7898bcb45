"""What purchase intake tells other features: the outcome of an order or a reversal, and the registry of
features listening for them.

This module imports no feature, so a feature can listen to orders (`bot.referrals.service`,
`bot.outreach.campaigns`) without importing purchase intake, and intake can call them without importing
them: `bot/app.py:order_listeners` fills the registry when the application (or the `import-orders`
command) is built, and intake receives it as an argument.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Order


@dataclass(frozen=True)
class OrderOutcome:
    order: Order
    created: bool  # False: this order id was seen before, nothing changed
    customer_id: int | None
    points: int  # points awarded by this call
    available_at: datetime | None
    tier: str | None


@dataclass(frozen=True)
class ReversalOutcome:
    order: Order | None
    changed: bool
    customer_id: int | None
    points: int  # points taken back (positive number)


OrderListener = Callable[[AsyncSession, OrderOutcome], Awaitable[None]]
ReversalListener = Callable[[AsyncSession, ReversalOutcome], Awaitable[None]]
# (session, *, customer_ids) -> the customers among them whose new orders a listener may act on.
OrderAudience = Callable[..., Awaitable[set[int]]]


@dataclass(frozen=True)
class OrderListeners:
    """Called in order, inside the order's transaction: `on_order` after a new order's points are booked,
    `on_reversal` after a refund or cancellation took them back."""

    on_order: tuple[OrderListener, ...] = ()
    on_reversal: tuple[ReversalListener, ...] = ()
    # One per `on_order` listener, in the same places: the customers it may act on. The import's batch path
    # (bot/loyalty/order_batches.py) writes other customers' orders in bulk without calling the listeners
    # and sends these customers' orders through ingest_order one by one; a listener without an audience
    # (None, or none given) makes it import every row one by one.
    order_audiences: tuple[OrderAudience | None, ...] = ()

    def audiences(self) -> list[OrderAudience] | None:
        """The audience of every order listener, or None when one of them has none."""
        found = [
            self.order_audiences[i] if i < len(self.order_audiences) else None
            for i in range(len(self.on_order))
        ]
        return None if any(audience is None for audience in found) else [a for a in found if a is not None]

    async def order_recorded(self, session: AsyncSession, outcome: OrderOutcome) -> None:
        for listener in self.on_order:
            await listener(session, outcome)

    async def order_reversed(self, session: AsyncSession, outcome: ReversalOutcome) -> None:
        for listener in self.on_reversal:
            await listener(session, outcome)
