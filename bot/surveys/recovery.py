"""Surveys left `sending` by a crash between the outbox claim and the confirmation.

A survey row is reserved (`sending`, counting for the throttle) before its question goes through the outbox.
If the bot dies before the outcome is written back, the survey would stay `sending` forever: throttling the
customer for that type and, for a purchase CSAT, keeping its order from ever being surveyed. The trigger
sweep therefore settles every such survey from what its outbox row says:

- outbox `sent` (possibly resent by the dispatcher after the crash): the survey is `sent`, with its message;
- outbox blocked, failed, skipped or cancelled, or no outbox row at all once the claim timeout has passed
  (the bot died before queueing it): nothing reached the customer, so the survey is `failed`; it no longer
  counts for the throttle and its order is surveyed again by the next sweep (within the catch-up window);
- outbox still pending or sending: the dispatcher resends it; only once the survey has expired is the
  question cancelled and the survey freed.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from bot.context import AppEnv
from storage import surveys as store
from storage.models import OutboxState
from storage.typed import saved_id

logger = logging.getLogger(__name__)

NOT_DELIVERED = (OutboxState.BLOCKED, OutboxState.FAILED, OutboxState.SKIPPED, OutboxState.CANCELLED)


async def recover_sending(env: AppEnv, *, limit: int = 500) -> Counter:
    """Settle surveys stuck in `sending`; returns how many were marked sent, freed or left to the outbox."""
    now = env.clock.now()
    stale_before = now - timedelta(seconds=env.settings.outreach_claim_timeout_seconds)
    tally: Counter = Counter()
    async with env.db.session() as session:
        for survey, row, chat_id in await store.stuck_sending(session, limit=limit):
            if row is not None and row.state == OutboxState.SENT:
                await store.mark_sent(
                    session, survey_id=saved_id(survey), chat_id=chat_id, message_id=row.message_id
                )
                tally["recovered_sent"] += 1
            elif (row is not None and row.state in NOT_DELIVERED) or (
                row is None and survey.sent_at < stale_before
            ):
                await store.mark_failed(session, survey_id=saved_id(survey))
                tally["freed"] += 1
            elif row is not None and now >= survey.expires_at:
                await store.cancel_outbox_row(session, row=row, outcome="survey expired")
                await store.mark_failed(session, survey_id=saved_id(survey))
                tally["freed"] += 1
            else:
                tally["in_outbox"] += 1
    if tally["recovered_sent"] or tally["freed"]:
        logger.info("Surveys stuck in sending: %s", dict(tally))
    return tally
