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


@dataclass(frozen=True)
class OrderListeners:
    """Called in order, inside the order's transaction: `on_order` after a new order's points are booked,
    `on_reversal` after a refund or cancellation took them back."""

    on_order: tuple[OrderListener, ...] = ()
    on_reversal: tuple[ReversalListener, ...] = ()

    async def order_recorded(self, session: AsyncSession, outcome: OrderOutcome) -> None:
        for listener in self.on_order:
            await listener(session, outcome)

    async def order_reversed(self, session: AsyncSession, outcome: ReversalOutcome) -> None:
        for listener in self.on_reversal:
            await listener(session, outcome)
