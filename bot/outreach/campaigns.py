"""Scheduled campaigns: birthday greetings with bonus points, staged win-back messages, and reminders of
coupons about to expire.

Sweeps only decide who is due and write outbox rows (with points or a coupon in the same transaction);
the dispatcher sends them. The outbox key (customer, campaign, occurrence) makes every sweep safe to
re-run, after a crash or a long downtime.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import AppEnv
from bot.loyalty.order_events import OrderOutcome
from bot.outreach import rules
from storage import coupons, outbox, outreach
from storage.models import Campaign, OrderStatus, OutboxState
from storage.outreach import Recipient
from storage.points import add_points, issue_coupon

logger = logging.getLogger(__name__)

WINBACK_STAGES = 3


async def birthday_sweep(env: AppEnv) -> int:
    """Queue today's greetings (from the configured local hour) and any missed by recent downtime."""
    settings, now = env.settings, env.clock.now()
    async with env.db.read_session() as session:
        people = await outreach.recipients(session, with_birthday=True)
    queued = 0
    for person in people:
        if person.birthday is None:  # recipients(with_birthday=True) has none of these; narrows the type
            continue
        zone = ZoneInfo(person.time_zone or settings.shop_timezone)
        local = now.astimezone(zone)
        for back in range(settings.outreach_birthday_catch_up_days + 1):
            day = local.date() - timedelta(days=back)
            if rules.birthday_in(person.birthday, day.year) != day:
                continue
            if back == 0 and local.hour < settings.outreach_birthday_hour:
                continue
            # Catching up covers greetings missed by downtime, not a birthday the customer told us about
            # only after it had passed (that would be a surprise "happy birthday" days late).
            greeting_time = datetime.combine(day, time(settings.outreach_birthday_hour), zone)
            changed = person.birthday_changed_at
            if back > 0 and changed is not None and changed > greeting_time:
                continue
            queued += await _greet(env, person, day, zone)
    return queued


async def _greet(env: AppEnv, person: Recipient, day: date, zone: ZoneInfo) -> bool:
    settings, now = env.settings, env.clock.now()
    reward = rules.earns_reward(person.birthday_changed_at, day, zone, settings.outreach_birthday_lock_days)
    points = settings.outreach_birthday_points if reward else 0
    text = env.templates.render(
        person.locale, "outreach/birthday.html", name=person.first_name or "", points=points
    )
    async with env.db.session() as session:
        row_id = await outbox.enqueue(
            session,
            customer_id=person.customer_id,
            campaign=Campaign.BIRTHDAY,
            occurrence=str(day.year),
            text=text,
            due_at=now,
            expires_at=now + timedelta(hours=settings.outreach_expiry_hours),
        )
        if row_id is None:
            return False
        if points:
            await add_points(
                session,
                customer_id=person.customer_id,
                delta=points,
                kind="birthday",
                key=f"birthday:{day.year}:{person.customer_id}",
                available_at=now,
            )
    return True


async def winback_sweep(env: AppEnv) -> int:
    """Queue the next win-back stage for every at-risk customer whose previous stage is old enough."""
    settings, now = env.settings, env.clock.now()
    async with env.db.read_session() as session:
        people = {person.customer_id: person for person in await outreach.recipients(session)}
        history = await outreach.paid_order_history(session)
        messages = await outreach.campaign_messages(session, campaign=Campaign.WINBACK)
    stage_gap = timedelta(days=settings.outreach_winback_stage_days)
    queued = 0
    for customer_id, orders in history.items():
        person = people.get(customer_id)
        if person is None:
            continue
        position = rules.standing(orders, now, settings)
        if position.last_order is None:  # only customers with paid orders are in `history`
            continue
        lapse = f"{int(position.last_order.timestamp())}"
        mine = {m.occurrence: m for m in messages.get(customer_id, [])}
        stale = [
            m
            for m in mine.values()
            if m.state == OutboxState.PENDING and not m.occurrence.startswith(f"{lapse}:")
        ]
        if stale or not position.at_risk:
            if stale:  # bought since: the old sequence stops
                async with env.db.session() as session:
                    await outbox.cancel_open(
                        session, customer_id=customer_id, campaign=Campaign.WINBACK, outcome="purchased"
                    )
            continue
        stage = next((k for k in range(1, WINBACK_STAGES + 1) if f"{lapse}:{k}" not in mine), None)
        if stage is None:
            continue
        if stage > 1:
            previous = mine[f"{lapse}:{stage - 1}"]
            if previous.state in outbox.OPEN_STATES:
                continue
            if now < (previous.sent_at or previous.created_at) + stage_gap:
                continue
        queued += await _winback(env, person, lapse, stage)
    return queued


async def _winback(env: AppEnv, person: Recipient, lapse: str, stage: int) -> bool:
    settings, now = env.settings, env.clock.now()
    async with env.db.session() as session:
        values: dict = {"name": person.first_name or ""}
        if stage > 1:
            coupon = await issue_coupon(
                session,
                customer_id=person.customer_id,
                source="winback",
                benefit=settings.outreach_winback_coupon,
                key=f"winback:{person.customer_id}:{lapse}",
                expires_at=now + timedelta(days=settings.outreach_winback_coupon_days),
                prefix="W",
            )
            zone = ZoneInfo(person.time_zone or settings.shop_timezone)
            values.update(
                code=coupon.code,
                benefit=coupon.benefit,
                until=(coupon.expires_at or now).astimezone(zone).date(),  # the customer's day
            )
        text = env.templates.render(person.locale, f"outreach/winback_{stage}.html", **values)
        row_id = await outbox.enqueue(
            session,
            customer_id=person.customer_id,
            campaign=Campaign.WINBACK,
            occurrence=f"{lapse}:{stage}",
            text=text,
            due_at=now,
            expires_at=now + timedelta(hours=settings.outreach_expiry_hours),
        )
    return row_id is not None


async def coupon_reminder_sweep(env: AppEnv) -> int:
    """Queue one reminder per coupon still unused OUTREACH_COUPON_REMINDER_DAYS before it expires, to
    customers marketing may reach; the outbox row expires with the coupon, so none arrives too late."""
    settings, now = env.settings, env.clock.now()
    days = settings.outreach_coupon_reminder_days
    if days <= 0:
        return 0
    async with env.db.read_session() as session:
        expiring = await coupons.coupons_expiring(session, now=now, until=now + timedelta(days=days))
        people = {person.customer_id: person for person in await outreach.recipients(session)}
    queued = 0
    for coupon in expiring:
        person = people.get(coupon.customer_id) if coupon.customer_id is not None else None
        if person is None:
            continue
        zone = ZoneInfo(person.time_zone or settings.shop_timezone)
        text = env.templates.render(
            person.locale,
            "outreach/coupon_expiry.html",
            name=person.first_name or "",
            code=coupon.code,
            benefit=coupon.benefit,
            until=coupon.expires_at.astimezone(zone).date(),  # the customer's day
        )
        async with env.db.session() as session:
            row_id = await outbox.enqueue(
                session,
                customer_id=person.customer_id,
                campaign=Campaign.COUPON_EXPIRY,
                occurrence=str(coupon.id),
                text=text,
                due_at=now,
                expires_at=min(coupon.expires_at, now + timedelta(hours=settings.outreach_expiry_hours)),
            )
        queued += row_id is not None
    return queued


async def record_conversions(env: AppEnv) -> int:
    """Stamp messages followed by a purchase (orders that bypass the order listener, e.g. linked later)."""
    now = env.clock.now()
    stamped = 0
    async with env.db.session() as session:
        orders = await outbox.paid_orders_since(session, since=now - 2 * outbox.CONVERSION_WINDOW)
        for customer_id, ordered_at in sorted(orders, key=lambda order: order[1]):
            stamped += await outbox.record_conversion(session, customer_id=customer_id, ordered_at=ordered_at)
    return stamped


async def order_audience(session: AsyncSession, *, customer_ids: list[int]) -> set[int]:
    """The customers among these whose new orders `on_order` may change anything for (an open win-back,
    or a sent marketing message not yet converted); for the others it does nothing."""
    return await outbox.customers_with_open_marketing(session, customer_ids=customer_ids)


async def on_order(session: AsyncSession, outcome: OrderOutcome) -> None:
    """Order listener: a purchase stops the customer's win-back sequence and counts as a conversion."""
    order, customer_id = outcome.order, outcome.customer_id
    if not outcome.created or customer_id is None:
        return
    if order.status != OrderStatus.PAID:
        return
    await outbox.cancel_open(session, customer_id=customer_id, campaign=Campaign.WINBACK, outcome="purchased")
    await outbox.record_conversion(session, customer_id=customer_id, ordered_at=order.ordered_at)
