"""Attribution on /start and the purchase listeners that move a referral towards its reward.

Loyalty calls `on_order` / `on_reversal` inside each order's transaction (registered by
`bot/app.py:order_listeners`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.loyalty.order_events import OrderOutcome, ReversalOutcome
from bot.referrals import rules
from bot.settings import Settings
from storage import referrals as store
from storage.loyalty import refs_for
from storage.models import Customer, OrderStatus


class StartOutcome(StrEnum):
    NOT_A_REFERRAL = "none"  # no payload, or another feature's payload
    ATTRIBUTED = "attributed"
    INVALID = "invalid"  # garbled payload or unknown code
    SELF = "self"
    EXISTING = "existing"  # was a customer before this /start
    REFERRED = "referred"  # already attributed to a referrer
    ORDERED = "ordered"  # new here, but the shop already has orders of theirs


@dataclass(frozen=True)
class StartResult:
    outcome: StartOutcome
    referrer_name: str | None = None


async def attribute_on_start(
    session: AsyncSession,
    *,
    settings: Settings,
    now: datetime,
    customer: Customer,
    created: bool,
    payload: str | None,
) -> StartResult:
    """Attribute a customer created by this very /start to the owner of the link's code, or say why not.

    `created` comes from the same transaction's INSERT … ON CONFLICT, so of two racing /start updates only
    one sees a new customer; the unique referee column backs that up. Refusals record nothing.
    """
    code = rules.code_from_payload(payload)
    if code is None:
        return StartResult(StartOutcome.NOT_A_REFERRAL)
    referrer = await store.find_referrer(session, code=code) if code else None
    if referrer is None or referrer.id is None or customer.id is None:
        return StartResult(StartOutcome.INVALID)
    if referrer.id == customer.id:
        return StartResult(StartOutcome.SELF)
    if await store.referral_of(session, referee_id=customer.id) is not None:
        return StartResult(StartOutcome.REFERRED)
    if not created:
        return StartResult(StartOutcome.EXISTING)
    if await store.has_ordered(session, customer_id=customer.id, refs=refs_for(customer)):
        return StartResult(StartOutcome.ORDERED)
    minimum = rules.min_order_minor(settings.referral_min_order_amount, settings.currency_exponent)
    if not await store.attribute(
        session, referrer_id=referrer.id, referee_id=customer.id, now=now, min_order_minor=minimum
    ):
        return StartResult(StartOutcome.REFERRED)
    return StartResult(StartOutcome.ATTRIBUTED, referrer.first_name or referrer.display_name)


async def on_order(session: AsyncSession, outcome: OrderOutcome) -> None:
    """A new paid order of a referee may be their first qualifying purchase: the referral becomes pending
    until the order's return window (loyalty's pending window) ends."""
    order = outcome.order
    if not outcome.created or outcome.customer_id is None or outcome.available_at is None:
        return
    if order.status != OrderStatus.PAID or order.id is None:
        return
    await store.mark_pending(
        session,
        referee_id=outcome.customer_id,
        order_id=order.id,
        amount_minor=order.amount_minor,
        ordered_at=order.ordered_at,
        qualifies_at=outcome.available_at,
    )


async def order_audience(session: AsyncSession, *, customer_ids: list[int]) -> set[int]:
    """The customers among these whose new orders `on_order` may act on (referees still awaiting their
    qualifying purchase); for the others it does nothing."""
    return await store.referees_awaiting_purchase(session, customer_ids=customer_ids)


async def on_reversal(session: AsyncSession, outcome: ReversalOutcome) -> None:
    """A refund of the qualifying purchase within its return window cancels the referral."""
    order = outcome.order
    if not outcome.changed or order is None or order.id is None or order.refunded_at is None:
        return
    await store.cancel_for_refund(session, order_id=order.id, refunded_at=order.refunded_at)
