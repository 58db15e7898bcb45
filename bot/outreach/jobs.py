"""Outreach on PTB's JobQueue: a campaign sweep every OUTREACH_SWEEP_MINUTES and an outbox check every
OUTREACH_DISPATCH_SECONDS. Both are repeating sweeps over the store, so after downtime the next run
catches up; misfire_grace_time=None lets a late run still happen (APScheduler's default grace is 1 s)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from typing import Any

from telegram.ext import Application

from bot.context import BotContext, env_of, job_queue_of
from bot.outreach import broadcasts, campaigns
from bot.outreach.dispatcher import drain

logger = logging.getLogger(__name__)

JOB_KWARGS = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}


async def sweep(source: Any) -> Counter:
    """Queue every due birthday, win-back and coupon-expiry message; returns how many of each were queued."""
    env = env_of(source)
    queued: Counter = Counter()
    steps = (
        ("birthday", campaigns.birthday_sweep),
        ("winback", campaigns.winback_sweep),
        ("coupon_expiry", campaigns.coupon_reminder_sweep),
    )
    for name, step in steps:
        try:
            queued[name] = await step(env)
        except Exception:  # one campaign's bug must not stop the other
            logger.exception("Outreach %s sweep failed", name)
    await campaigns.record_conversions(env)
    if sum(queued.values()):
        logger.info("Outreach sweep queued %s", dict(queued))
    return queued


async def dispatch(source: Any, *, should_stop: Any = None) -> Counter:
    """Send everything due in the outbox now (and update broadcast progress)."""
    env = env_of(source)
    return await drain(env, on_progress=lambda ids: broadcasts.refresh(env, ids), should_stop=should_stop)


def kick(source: Any) -> None:
    """Start draining the outbox in the background unless a drain is already running."""
    data = source.bot_data
    running: asyncio.Task | None = data.get("outreach_drain")
    if running is not None and not running.done():
        return
    application = source.application if isinstance(source, BotContext) else source
    if not application.running:  # tests drive `dispatch` themselves; the JobQueue kicks a running bot
        return
    data["outreach_drain"] = application.create_task(_drain_logged(application), name="outreach-drain")


async def _drain_logged(application: Application) -> None:
    try:
        # Stop between batches when the bot shuts down; what is left is sent after the restart.
        await dispatch(application, should_stop=lambda: not application.running)
    except Exception:
        logger.exception("Outbox dispatch failed; the next check retries")


async def sweep_job(context: BotContext) -> None:
    """JobQueue callback: campaign sweep, then send."""
    await sweep(context)
    kick(context)


async def dispatch_job(context: BotContext) -> None:
    """JobQueue callback: make sure the outbox is being drained."""
    kick(context)


def schedule(application: Application) -> None:
    settings = application.bot_data["settings"]
    job_queue_of(application).run_repeating(
        sweep_job,
        interval=timedelta(minutes=settings.outreach_sweep_minutes),
        first=timedelta(seconds=5),
        name="outreach-sweep",
        job_kwargs=JOB_KWARGS,
    )
    job_queue_of(application).run_repeating(
        dispatch_job,
        interval=timedelta(seconds=settings.outreach_dispatch_seconds),
        first=timedelta(seconds=1),
        name="outreach-dispatch",
        job_kwargs=JOB_KWARGS,
    )
