"""The outbox dispatcher: claims due rows, sends them paced as bulk traffic, records each outcome.

Exactly-once discipline: a row is claimed (state `sending`, attempts+1) in a committed transaction before
its send, and marked `sent` in its own transaction right after Telegram accepts it. After a crash a row
still `sending` once its claim is older than OUTREACH_CLAIM_TIMEOUT_SECONDS is sent again: nothing due is
lost, and only a crash in the instant between Telegram's answer and that commit can duplicate a message
(the row then shows attempts > 1 and the resend is logged as a possible duplicate). See docs/outreach.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.context import AppEnv
from bot.outreach import rules
from bot.send_budget import BULK, retry_seconds
from bot.settings import Settings
from storage import outbox, outreach
from storage.customers import set_reachable
from storage.models import Customer, OutboxMessage, OutboxState
from storage.models.outreach import MARKETING
from storage.typed import saved_id

logger = logging.getLogger(__name__)

BATCH = 50
IN_FLIGHT = 8
RETRY_DELAY = timedelta(minutes=1)
# Rows this process is sending right now. The claim timeout is for claims a crashed process left behind;
# a live send held up longer than that (429 pauses and retries) must not be claimed and sent a second time.
SENDING_HERE: set[int] = set()


@dataclass(frozen=True)
class Claimed:
    id: int
    attempt: int
    customer_id: int
    chat_id: int
    text: str
    reply_markup: str | None
    broadcast_id: int | None


def decide(
    row: OutboxMessage,
    customer: Customer,
    *,
    now: datetime,
    recent: list[datetime],
    zone: ZoneInfo,
    settings: Settings,
) -> tuple[str, Any]:
    """("claim", None), ("skip", reason) or ("defer", until) for one due row."""
    if customer.telegram_id is None or customer.forgotten_at is not None or row.text is None:
        return "skip", "unknown"
    if not customer.reachable:
        return "skip", "unreachable"
    if row.expires_at is not None and now > row.expires_at:
        return "skip", "expired"
    if row.campaign in MARKETING:
        if not customer.marketing_opt_in:
            return "skip", "opted_out"
        later = rules.quiet_until(now, zone, settings) or rules.cap_until(recent, now, settings)
        if later is not None:
            return "defer", later
    return "claim", None


async def claim_batch(
    env: AppEnv, *, limit: int = BATCH, ids: list[int] | None = None
) -> tuple[list[Claimed], int]:
    """Claim up to `limit` due rows (only `ids` if given) in one transaction; returns (claimed, looked at)."""
    settings, now = env.settings, env.clock.now()
    claimed: list[Claimed] = []
    async with env.writing() as session:
        rows = await outbox.due_rows(
            session,
            now=now,
            stale_before=now - timedelta(seconds=settings.outreach_claim_timeout_seconds),
            limit=limit,
            ids=ids,
            exclude=SENDING_HERE,
        )
        customer_ids = list({row.customer_id for row, _ in rows})
        since = now - timedelta(hours=settings.outreach_cap_hours)
        recent = await outbox.marketing_sent_since(session, customer_ids=customer_ids, since=since)
        zones = await outreach.customer_zones(session, customer_ids=customer_ids)
        for row, customer in rows:
            row_id, customer_id = saved_id(row), saved_id(customer)
            zone = ZoneInfo(zones.get(customer_id, settings.shop_timezone))
            history = [at for sent_id, at in recent.get(customer_id, []) if sent_id != row_id]
            verdict, detail = decide(row, customer, now=now, recent=history, zone=zone, settings=settings)
            if verdict == "skip":
                await outbox.settle(session, row=row, state=OutboxState.SKIPPED, outcome=detail)
                continue
            if verdict == "defer":
                await outbox.settle(session, row=row, state=OutboxState.PENDING, due_at=detail)
                continue
            if row.state == OutboxState.SENDING:
                logger.warning(
                    "Outbox %s claimed %s time(s) unconfirmed; sending again (possible duplicate)",
                    row.id,
                    row.attempts,
                )
            chat_id, text = customer.telegram_id, row.text
            if chat_id is None or text is None:  # decide() skips these rows; this narrows the types
                raise RuntimeError(f"outbox {row_id}: claimed without a chat or a text")
            attempt = await outbox.claim(session, row=row, now=now)
            if row.campaign in MARKETING:
                recent.setdefault(customer_id, []).append((row_id, now))
            claimed.append(
                Claimed(
                    row_id,
                    attempt,
                    customer_id,
                    chat_id,
                    text,
                    row.reply_markup,
                    row.broadcast_id,
                )
            )
    return claimed, len(rows)


async def _send(env: AppEnv, chat_id: int, text: str, reply_markup: str | None) -> Message:
    markup = InlineKeyboardMarkup.de_json(json.loads(reply_markup), env.bot) if reply_markup else None
    return await env.bot.send_message(
        chat_id, text, parse_mode="HTML", reply_markup=markup, rate_limit_args=BULK
    )


async def send_claimed(env: AppEnv, item: Claimed) -> str:
    """Send one claimed row and record the outcome; returns the row's new state."""
    SENDING_HERE.add(item.id)
    try:
        return await _send_and_record(env, item)
    finally:  # only once the outcome is committed, so no other claim can slip in between
        SENDING_HERE.discard(item.id)


async def _send_and_record(env: AppEnv, item: Claimed) -> str:
    now = env.clock.now
    sent_at = retry_at = message_id = outcome = None
    try:
        message = await _send(env, item.chat_id, item.text, item.reply_markup)
    except Forbidden:
        state, outcome = OutboxState.BLOCKED, "forbidden"
    except RetryAfter as error:  # the rate limiter's own retries ran out: try again later
        state, outcome = OutboxState.PENDING, "flood"
        retry_at = now() + timedelta(seconds=retry_seconds(error))
    except BadRequest as error:
        state, outcome = OutboxState.FAILED, str(error)[:64]
    except NetworkError as error:  # includes timeouts: Telegram may or may not have the message
        if item.attempt < env.settings.outreach_max_attempts:
            state, outcome, retry_at = OutboxState.PENDING, "network", now() + RETRY_DELAY
        else:
            state, outcome = OutboxState.FAILED, str(error)[:64]
    except TelegramError as error:
        state, outcome = OutboxState.FAILED, str(error)[:64]
    else:
        state, sent_at, message_id = OutboxState.SENT, now(), message.message_id
    async with env.writing() as session:
        await outbox.finish(
            session,
            message_id=item.id,
            attempt=item.attempt,
            state=state,
            sent_at=sent_at,
            telegram_message_id=message_id,
            outcome=outcome,
            retry_at=retry_at,
        )
        if state == OutboxState.BLOCKED:
            await set_reachable(session, telegram_id=item.chat_id, reachable=False)
    return state


async def _send_all(env: AppEnv, claimed: list[Claimed], should_stop: Any) -> list[tuple[Claimed, str]]:
    """Send a batch with a few requests in flight: the pacer sets the rate, and network round trips
    overlap instead of adding up. On shutdown, claims not yet sent are given back."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(item: Claimed) -> tuple[Claimed, str]:
        async with slots:
            if should_stop is not None and should_stop():
                async with env.writing() as session:
                    await outbox.release(session, message_id=item.id, attempt=item.attempt)
                return item, OutboxState.PENDING
            return item, await send_claimed(env, item)

    return list(await asyncio.gather(*(one(item) for item in claimed)))


async def drain(env: AppEnv, *, on_progress: Any = None, should_stop: Any = None) -> Counter:
    """Send everything due now; `on_progress(broadcast_ids)` is awaited now and then and at the end.

    `should_stop()` is asked between batches, so a shutdown waits for at most one batch.
    """
    tally: Counter = Counter()
    touched: set[int] = set()
    while should_stop is None or not should_stop():
        claimed, looked_at = await claim_batch(env)
        if looked_at == 0:
            break
        for item, state in await _send_all(env, claimed, should_stop):
            tally[state] += 1
            if item.broadcast_id is not None:
                touched.add(item.broadcast_id)
        if on_progress is not None and touched:
            await on_progress(touched)
    if on_progress is not None:
        await on_progress(touched)
    if tally:
        logger.info("Outbox: %s", dict(tally))
    return tally


async def send_queued(env: AppEnv, *, ids: list[int]) -> Counter:
    """Send rows a unit of work has just queued and committed, at once and under the same rules; any the
    process does not get to (a crash, a row another sender holds) are sent by the next drain."""
    claimed, _ = await claim_batch(env, limit=len(ids), ids=ids) if ids else ([], 0)
    return Counter(state for _, state in await _send_all(env, claimed, None))


async def send_now(
    env: Any,
    *,
    customer_id: int,
    chat_id: int,
    campaign: str,
    occurrence: str,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """Send one message through the outbox right away (surveys): recorded, claimed, paced as bulk.

    Raises what Telegram raised (Forbidden, other TelegramError) after recording it; a duplicate
    (customer, campaign, occurrence) raises ValueError without sending.
    """
    now = env.clock.now()
    markup = json.dumps(reply_markup.to_dict()) if reply_markup is not None else None
    async with env.writing() as session:
        row_id = await outbox.enqueue(
            session,
            customer_id=customer_id,
            campaign=campaign,
            occurrence=occurrence,
            text=text,
            reply_markup=markup,
            due_at=now,
            claimed_at=now,
        )
    if row_id is None:
        raise ValueError(f"{campaign} {occurrence} to customer {customer_id} was already sent")
    SENDING_HERE.add(row_id)
    try:
        message = await _send(env, chat_id, text, markup)
    except Forbidden:
        await _record(env, row_id, OutboxState.BLOCKED, outcome="forbidden")
        raise
    except TelegramError as error:
        await _record(env, row_id, OutboxState.FAILED, outcome=str(error)[:64])
        raise
    else:
        await _record(env, row_id, OutboxState.SENT, sent_at=env.clock.now(), message_id=message.message_id)
    finally:
        SENDING_HERE.discard(row_id)
    return message


async def _record(env: Any, row_id: int, state: str, **values: Any) -> None:
    async with env.writing() as session:
        await outbox.finish(
            session,
            message_id=row_id,
            attempt=1,
            state=state,
            sent_at=values.get("sent_at"),
            telegram_message_id=values.get("message_id"),
            outcome=values.get("outcome"),
        )
