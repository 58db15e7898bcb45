"""Merchant broadcasts: who a segment is, launching a previewed broadcast into the outbox, progress shown
by editing one message, and cancelling."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from bot.callback_kinds import BroadcastAction
from bot.context import AppEnv
from bot.outreach import rules
from storage import outbox, outreach
from storage.customers import get_customer
from storage.models import Broadcast, BroadcastState, Campaign, OutboxState
from storage.outreach import AudienceMember
from storage.typed import saved_id

logger = logging.getLogger(__name__)

BUTTONS = "outreach/buttons.html"
EDIT_GAP = 1.5  # seconds between progress edits while a broadcast is sending


@dataclass(frozen=True)
class Audience:
    """Who of a segment a broadcast goes to, and how many are left out and why (shown in the preview)."""

    recipients: list[AudienceMember]
    staff: int  # MERCHANT_IDS: the shop team gets a test on request, never the broadcast itself
    blocked: int
    opted_out: int
    quiet: int  # recipients in their quiet hours now: they get it when those end

    @property
    def left_out(self) -> int:
        return self.staff + self.blocked + self.opted_out


async def audience(env: AppEnv, segment: str) -> Audience:
    """The customers of a segment (all, active, at-risk or a tier name) whom the broadcast may reach."""
    settings, now = env.settings, env.clock.now()
    async with env.reading() as session:
        people = await outreach.audience(session)
        history = await outreach.paid_order_history(session) if segment != "all" else {}
    members = [
        person
        for person in people
        if rules.in_segment(
            segment, rules.standing(history.get(person.customer_id, []), now, settings), settings
        )
    ]
    recipients: list[AudienceMember] = []
    left_out: Counter[str] = Counter()
    for person in members:  # each left-out customer counted once, for the first reason
        if settings.is_merchant(person.telegram_id):
            left_out["staff"] += 1
        elif not person.reachable:
            left_out["blocked"] += 1
        elif not person.opted_in:
            left_out["opted_out"] += 1
        else:
            recipients.append(person)
    zones = {zone: ZoneInfo(zone) for zone in {p.time_zone or settings.shop_timezone for p in recipients}}
    quiet = sum(
        rules.quiet_until(now, zones[person.time_zone or settings.shop_timezone], settings) is not None
        for person in recipients
    )
    return Audience(recipients, left_out["staff"], left_out["blocked"], left_out["opted_out"], quiet)


def customer_text(env: AppEnv, locale: str, text: str) -> str:
    """The broadcast as a customer sees it: the merchant's words (escaped) and how to opt out."""
    return env.templates.render(locale, "outreach/broadcast.html", text=text)


async def merchant_locale(env: AppEnv, telegram_id: int) -> str:
    async with env.reading() as session:
        customer = await get_customer(session, telegram_id=telegram_id)
    return customer.locale if customer is not None else env.settings.default_locale


async def launch(env: AppEnv, *, broadcast_id: int, chat_id: int, message_id: int) -> int | None:
    """Queue a draft broadcast for its segment once; returns the recipient count (None if not a draft)."""
    now = env.clock.now()
    async with env.reading() as session:
        broadcast = await outreach.get_broadcast(session, broadcast_id=broadcast_id)
    if broadcast is None or broadcast.state != BroadcastState.DRAFT:
        return None
    members = (await audience(env, broadcast.segment)).recipients
    texts = {locale: customer_text(env, locale, broadcast.text) for locale in {m.locale for m in members}}
    expires_at = now + timedelta(hours=env.settings.outreach_expiry_hours)
    async with env.writing() as session:
        if not await outreach.move_broadcast(
            session,
            broadcast_id=broadcast_id,
            from_state=BroadcastState.DRAFT,
            to_state=BroadcastState.SENDING,
            recipients=len(members),
            chat_id=chat_id,
            message_id=message_id,
        ):
            return None
        rows = [
            {
                "customer_id": member.customer_id,
                "campaign": Campaign.BROADCAST,
                "occurrence": str(broadcast_id),
                "broadcast_id": broadcast_id,
                "text": texts[member.locale],
                "due_at": now,
                "expires_at": expires_at,
            }
            for member in members
        ]
        for start in range(0, len(rows), 500):  # keep each statement under the drivers' parameter limits
            await outbox.enqueue_many(session, rows=rows[start : start + 500])
    return len(members)


async def send_test(env: AppEnv, *, broadcast_id: int) -> bool:
    """The draft as customers will see it, to the merchant who wrote it only; False if it is no draft."""
    async with env.reading() as session:
        broadcast = await outreach.get_broadcast(session, broadcast_id=broadcast_id)
    if broadcast is None or broadcast.state != BroadcastState.DRAFT:
        return False
    locale = await merchant_locale(env, broadcast.created_by)
    text = customer_text(env, locale, broadcast.text)
    await env.bot.send_message(broadcast.created_by, text, parse_mode="HTML")
    return True


async def cancel(env: AppEnv, *, broadcast_id: int) -> bool:
    """Stop a draft or running broadcast: messages not yet claimed are never sent."""
    async with env.writing() as session:
        stopped = False
        for state in (BroadcastState.DRAFT, BroadcastState.SENDING):
            stopped = stopped or await outreach.move_broadcast(
                session,
                broadcast_id=broadcast_id,
                from_state=state,
                to_state=BroadcastState.CANCELLED,
                finished_at=env.clock.now(),
            )
        if stopped:
            await outbox.cancel_broadcast(session, broadcast_id=broadcast_id)
    return stopped


def progress_keyboard(env: AppEnv, locale: str, broadcast: Broadcast) -> InlineKeyboardMarkup | None:
    if broadcast.state != BroadcastState.SENDING:
        return None
    label = env.templates.label(locale, BUTTONS, "stop")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=BroadcastAction("stop", saved_id(broadcast)).pack())]]
    )


async def refresh(env: AppEnv, broadcast_ids: set[int]) -> None:
    """Finish broadcasts with nothing left to send and edit each one's progress message if it changed."""
    async with env.writing() as session:
        ids = set(broadcast_ids) | {saved_id(b) for b in await outreach.sending_broadcasts(session)}
        shown = []
        for broadcast_id in sorted(ids):
            counts = await outreach.broadcast_counts(session, broadcast_id=broadcast_id)
            broadcast = await outreach.get_broadcast(session, broadcast_id=broadcast_id)
            if broadcast is None:
                continue
            if broadcast.state == BroadcastState.SENDING and not any(
                counts.get(s) for s in outbox.OPEN_STATES
            ):
                await outreach.move_broadcast(
                    session,
                    broadcast_id=broadcast_id,
                    from_state=BroadcastState.SENDING,
                    to_state=BroadcastState.DONE,
                    finished_at=env.clock.now(),
                )
                await session.refresh(broadcast)
            shown.append((broadcast, counts))
    for broadcast, counts in shown:
        await show_progress(env, broadcast, counts)


async def show_progress(env: AppEnv, broadcast: Broadcast, counts: dict[str, int]) -> None:
    if broadcast.chat_id is None or broadcast.message_id is None:
        return
    locale = await merchant_locale(env, broadcast.created_by)
    text = env.templates.render(
        locale,
        "outreach/progress.html",
        state=broadcast.state,
        total=broadcast.recipients,
        sent=counts.get(OutboxState.SENT, 0),
        blocked=counts.get(OutboxState.BLOCKED, 0),
        failed=counts.get(OutboxState.FAILED, 0),
        skipped=counts.get(OutboxState.SKIPPED, 0) + counts.get(OutboxState.CANCELLED, 0),
        waiting=counts.get(OutboxState.PENDING, 0) + counts.get(OutboxState.SENDING, 0),
    )
    key, clock_key = ("progress", broadcast.id), ("progress_at", broadcast.id)
    if env.cache.get(key) == text:
        return
    # Telegram allows about one message per second in a chat: while sending, edit at most that often.
    now, last_edit = env.clock.monotonic(), env.cache.get(clock_key)
    if broadcast.state == BroadcastState.SENDING and last_edit is not None and now - last_edit < EDIT_GAP:
        return
    env.cache[key], env.cache[clock_key] = text, now
    try:
        await env.bot.edit_message_text(
            text,
            chat_id=broadcast.chat_id,
            message_id=broadcast.message_id,
            parse_mode="HTML",
            reply_markup=progress_keyboard(env, locale, broadcast),
        )
    except TelegramError:  # progress is informative; a failed edit must not stop the sending
        logger.debug("Could not update broadcast %s progress", broadcast.id, exc_info=True)
