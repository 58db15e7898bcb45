"""The repeating trigger sweep: CSAT some hours after each paid purchase, NPS to active customers every so
often. Runs on PTB's JobQueue; every "now" comes from context.clock so tests control time."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

from telegram.ext import Application

from bot.context import BotContext, env_of, job_queue_of
from bot.surveys.recovery import recover_sending
from bot.surveys.service import Outcome, request_survey
from storage import surveys as store
from storage.models import SurveyKind, SurveyTrigger

logger = logging.getLogger(__name__)

# A CES asks about a conversation that just ended; give the customer a moment to read the answer first.
CES_DELAY = timedelta(minutes=5)
# A purchase is still surveyed if the bot was down when its CSAT fell due, but not days later.
CSAT_CATCH_UP = timedelta(days=3)


async def sweep(context: BotContext) -> Counter:
    """Send every survey that is due now; returns how many of each outcome (for logs and tests)."""
    env = env_of(context)
    settings = env.settings
    now = env.clock.now()
    outcomes: Counter = Counter()
    # First settle surveys a crash left `sending`: they would block the throttle and their order's CSAT.
    await recover_sending(env)
    due_before = now - timedelta(hours=settings.survey_csat_delay_hours)
    if settings.survey_csat_delay_hours > 0:
        async with env.db.read_session() as session:
            orders = await store.due_purchase_csat(
                session,
                ordered_after=due_before - CSAT_CATCH_UP,
                ordered_before=due_before,
                throttle_since=now - timedelta(days=settings.survey_throttle_days),
                limit=settings.survey_sweep_batch,
            )
        for order_id, customer_id in orders:
            outcomes[
                await _send(context, customer_id, SurveyKind.CSAT, SurveyTrigger.PURCHASE, order_id)
            ] += 1
    if settings.survey_nps_interval_days > 0:
        interval = max(settings.survey_nps_interval_days, settings.survey_throttle_days)
        async with env.db.read_session() as session:
            customer_ids = await store.due_periodic_nps(
                session,
                active_since=now - timedelta(days=settings.survey_nps_active_days),
                surveyed_since=now - timedelta(days=interval),
                quiet_since=now - timedelta(days=settings.survey_validity_days),
                csat_pending_since=due_before if settings.survey_csat_delay_hours > 0 else None,
                limit=settings.survey_sweep_batch,
            )
        for customer_id in customer_ids:
            outcomes[await _send(context, customer_id, SurveyKind.NPS, SurveyTrigger.PERIODIC)] += 1
    if outcomes:
        logger.info("Survey sweep: %s", dict(outcomes))
    return outcomes


async def _send(
    context: BotContext, customer_id: int, kind: str, trigger: str, order_id: int | None = None
) -> Outcome:
    # One customer's failure must not stop the sweep for everyone else.
    try:
        return await request_survey(
            context, customer_id=customer_id, kind=kind, trigger=trigger, order_id=order_id
        )
    except Exception:
        logger.exception("Survey %s to customer %s failed", kind, customer_id)
        return Outcome.FAILED


async def sweep_job(context: BotContext) -> None:
    """JobQueue callback."""
    await sweep(context)


def request_survey_later(
    source: Any, *, customer_id: int, kind: str, trigger: str, delay: timedelta = CES_DELAY
) -> None:
    """Queue `request_survey` to run after `delay` (e.g. a CES a few minutes after an FAQ answer).

    `source` is a BotContext or the Application. The queue is PTB's JobQueue, kept in memory: a survey queued
    just before a restart is dropped, which costs one optional question, never a duplicate.
    """
    job_queue = source.job_queue
    job_queue.run_once(
        _delayed_survey,
        when=delay,
        data={"customer_id": customer_id, "kind": kind, "trigger": trigger},
        name=f"survey-{kind}-{customer_id}",
        job_kwargs={"misfire_grace_time": 3600},
    )


async def _delayed_survey(context: BotContext) -> None:
    """JobQueue callback of request_survey_later."""
    job = context.job
    if job is None or not isinstance(job.data, dict):
        raise RuntimeError("_delayed_survey runs only as the job request_survey_later queues")
    data = job.data
    await _send(context, data["customer_id"], data["kind"], data["trigger"])


def schedule(application: Application) -> None:
    """Run the sweep every SURVEY_SWEEP_MINUTES, starting a minute after start-up."""
    minutes = application.bot_data["settings"].survey_sweep_minutes
    job_queue_of(application).run_repeating(
        sweep_job,
        interval=timedelta(minutes=minutes),
        first=timedelta(minutes=1),
        name="surveys-sweep",
        job_kwargs={"misfire_grace_time": 300, "coalesce": True, "max_instances": 1},
    )
