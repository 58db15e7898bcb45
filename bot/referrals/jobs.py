"""The conversion sweep: referrals whose qualifying purchase has cleared its return window are rewarded
(within the referrer's weekly cap) and the customers told. Runs on PTB's JobQueue with context.clock."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import Application

from bot.context import BotContext, env_of, job_queue_of
from bot.loyalty.purchases import balance
from bot.outreach.dispatcher import send_queued
from bot.referrals import rules
from bot.settings import Settings
from storage import outbox
from storage import referral_conversions as conversions
from storage import referrals as store
from storage.customers import get_customer_by_id
from storage.models import Campaign, OrderStatus, ReferralStatus
from storage.points import add_points, issue_coupon, lock_customer
from storage.typed import saved_id

logger = logging.getLogger(__name__)

BATCH = 200
COUPON_PREFIX = "F"  # referral coupons read "F…" at the till, reward coupons "R…"


@dataclass(frozen=True)
class Gift:
    points: int = 0
    coupon: str | None = None
    benefit: str = ""
    until: datetime | None = None  # a coupon's expiry, shown with it


@dataclass(frozen=True)
class Conversion:
    referral_id: int
    referrer_id: int | None
    referee_id: int | None
    cancelled: bool = False
    rewarded: bool = False
    referrer_gift: Gift | None = None
    referee_gift: Gift | None = None


async def _give(
    session: AsyncSession,
    *,
    spec: rules.RewardSpec,
    customer_id: int | None,
    key: str,
    now: datetime,
    validity_days: int,
) -> Gift | None:
    """Points (ledger kind "referral") or a coupon, once per key."""
    if customer_id is None or spec.kind == "none":
        return None
    if spec.kind == "points":
        await add_points(
            session, customer_id=customer_id, delta=spec.points, kind="referral", key=key, available_at=now
        )
        return Gift(points=spec.points)
    coupon = await issue_coupon(
        session,
        customer_id=customer_id,
        source="referral",
        benefit=spec.benefit,
        key=key,
        expires_at=now + timedelta(days=validity_days),  # the programme's coupon validity
        prefix=COUPON_PREFIX,
    )
    return Gift(coupon=coupon.code, benefit=coupon.benefit, until=coupon.expires_at)


async def convert(
    session: AsyncSession, *, settings: Settings, now: datetime, referral_id: int
) -> Conversion | None:
    """Settle one pending referral whose return window has ended; None if it is not (or no longer) due.

    Both customers are locked (ascending id, the order every writer here uses) before the referral row, so
    the weekly-cap count and the reward are one serialized step per referrer: racing sweeps or conversions
    can never reward more than the cap.
    """
    ids = await conversions.referral_parties(session, referral_id=referral_id)
    if ids is None:
        return None
    for customer_id in sorted(i for i in ids if i is not None):
        await lock_customer(session, customer_id=customer_id)
    referral = await store.lock_referral(session, referral_id=referral_id)
    if referral is None or referral.status != ReferralStatus.PENDING:
        return None
    if referral.qualifies_at is None or referral.qualifies_at > now:
        return None
    conversion = partial(Conversion, referral_id, referral.referrer_id, referral.referee_id)
    order = await conversions.qualifying_order(session, referral=referral)
    refunded_at = order.refunded_at if order is not None and order.status != OrderStatus.PAID else None
    if refunded_at is not None and refunded_at < referral.qualifies_at:
        # Refunded in time but the reversal listener did not run (e.g. a CSV import): cancel now.
        await conversions.cancel_referral(session, referral=referral, cancelled_at=refunded_at)
        return conversion(cancelled=True)
    converted_at = referral.qualifies_at
    rewarded = True
    if referral.referrer_id is not None and settings.referral_weekly_cap:
        start, end = rules.week_bounds(converted_at, settings.timezone)
        count = await store.rewarded_in_week(session, referrer_id=referral.referrer_id, start=start, end=end)
        rewarded = count < settings.referral_weekly_cap
    referrer_gift = referee_gift = None
    if rewarded:
        referrer_gift = await _give(
            session,
            spec=settings.referral_rewards.referrer,
            customer_id=referral.referrer_id,
            key=f"referral:{referral_id}:referrer",
            now=now,
            validity_days=settings.loyalty_programme.validity_days,
        )
        referee_gift = await _give(
            session,
            spec=settings.referral_rewards.referee,
            customer_id=referral.referee_id,
            key=f"referral:{referral_id}:referee",
            now=now,
            validity_days=settings.loyalty_programme.validity_days,
        )
    await conversions.record_conversion(
        session,
        referral=referral,
        converted_at=converted_at,
        rewarded=rewarded,
        referrer_points=referrer_gift.points if referrer_gift else 0,
        referee_points=referee_gift.points if referee_gift else 0,
    )
    return conversion(rewarded=rewarded, referrer_gift=referrer_gift, referee_gift=referee_gift)


async def queue_notices(
    session: AsyncSession, *, context: BotContext, now: datetime, conversion: Conversion
) -> list[int]:
    """Write the referrer's and the referee's notices to the outbox in the conversion's own transaction,
    so a crash right after the commit cannot lose them and a re-run cannot repeat them."""
    if conversion.cancelled:
        return []
    notices = []
    if conversion.referrer_id is not None:
        notices.append(
            (
                conversion.referrer_id,
                "referrer",
                "referrals/converted.html",
                {
                    "rewarded": conversion.rewarded,
                    "gift": conversion.referrer_gift,
                    "cap": context.settings.referral_weekly_cap,
                },
            )
        )
    if conversion.referee_id is not None and conversion.referee_gift is not None:
        notices.append(
            (
                conversion.referee_id,
                "referee",
                "referrals/referee_reward.html",
                {"gift": conversion.referee_gift},
            )
        )
    ids = []
    for customer_id, side, template, values in notices:
        customer = await get_customer_by_id(session, customer_id=customer_id)
        if customer is None or customer.telegram_id is None:
            continue
        current = await balance(session, settings=context.settings, customer_id=customer_id, now=now)
        row_id = await outbox.enqueue(
            session,
            customer_id=customer_id,
            campaign=Campaign.REFERRAL,
            occurrence=f"{conversion.referral_id}:{side}",
            text=context.templates.render(customer.locale, template, balance=current, **values),
            due_at=now,
        )
        if row_id is not None:
            ids.append(row_id)
    return ids


async def sweep(context: BotContext) -> Counter:
    """Mark qualifying purchases the listeners missed, then settle every due referral; returns counts."""
    db, settings, now = context.db, context.settings, context.clock.now()
    outcomes: Counter = Counter()
    window = timedelta(days=settings.loyalty_pending_days)
    async with db.session() as session:
        outcomes["prior_buyer"] += await store.cancel_prior_buyers(session, now=now)
        for referee_id, order in await store.qualifying_orders(session, limit=BATCH):
            if await store.mark_pending(
                session,
                referee_id=referee_id,
                order_id=saved_id(order),
                amount_minor=order.amount_minor,
                ordered_at=order.ordered_at,
                qualifies_at=order.ordered_at + window,
            ):
                outcomes["pending"] += 1
    async with db.read_session() as session:
        due = await store.due_referrals(session, now=now, limit=BATCH)
    for referral_id in due:
        # One referral's failure must not stop the others; it is retried on the next sweep.
        try:
            async with db.session() as session:
                conversion = await convert(session, settings=settings, now=now, referral_id=referral_id)
                if conversion is None:
                    continue
                notices = await queue_notices(session, context=context, now=now, conversion=conversion)
            outcomes[
                "cancelled" if conversion.cancelled else "rewarded" if conversion.rewarded else "capped"
            ] += 1
            await send_queued(env_of(context), ids=notices)
        except Exception:
            logger.exception("Referral %s could not be settled", referral_id)
            outcomes["failed"] += 1
    outcomes = +outcomes  # drop zero counts
    if outcomes:
        logger.info("Referral sweep: %s", dict(outcomes))
    return outcomes


async def sweep_job(context: BotContext) -> None:
    """JobQueue callback."""
    await sweep(context)


def schedule(application: Application) -> None:
    """Run the sweep every REFERRAL_SWEEP_MINUTES, starting a couple of minutes after start-up."""
    minutes = application.bot_data["settings"].referral_sweep_minutes
    job_queue_of(application).run_repeating(
        sweep_job,
        interval=timedelta(minutes=minutes),
        first=timedelta(minutes=2),
        name="referrals-sweep",
        job_kwargs={"misfire_grace_time": 600, "coalesce": True, "max_instances": 1},
    )
