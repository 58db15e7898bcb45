"""Recording expired points in the ledger, so /history shows them (balances already exclude them).

The balance is derived by replaying the ledger, which applies expiry by itself; this job only appends an
`expire` entry per expired lot (idempotent on the lot), which the replay ignores.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram.ext import Application

from bot.context import BotContext
from bot.loyalty.balances import customer_lots
from bot.loyalty.purchases import expire_after
from bot.settings import Settings
from storage.db import Database
from storage.points import add_points, customers_with_points, lock_customer

INTERVAL = timedelta(hours=6)


async def record_expiries(db: Database, settings: Settings, now: datetime) -> int:
    """Append an `expire` entry for every lot that expired unspent; returns the points recorded."""
    window = expire_after(settings)
    if window is None:
        return 0
    async with db.read_session() as session:
        customer_ids = await customers_with_points(session)
    recorded = 0
    for customer_id in customer_ids:
        async with db.session() as session:
            await lock_customer(session, customer_id=customer_id)
            for lot in await customer_lots(session, customer_id=customer_id, expire_after=window):
                if lot.remaining <= 0 or lot.expires_at is None or lot.expires_at > now:
                    continue
                if await add_points(
                    session,
                    customer_id=customer_id,
                    delta=-lot.remaining,
                    kind="expire",
                    key=f"expire:{lot.entry_id}",
                    available_at=lot.expires_at,
                ):
                    recorded += lot.remaining
    return recorded


async def expiry_job(context: BotContext) -> None:
    """Repeating job: record expired points."""
    await record_expiries(context.db, context.settings, context.clock.now())


def schedule(application: Application) -> None:
    if not application.bot_data["settings"].loyalty_expiry_days or application.job_queue is None:
        return
    application.job_queue.run_repeating(
        expiry_job,
        interval=INTERVAL,
        first=60,
        name="loyalty-expiry",
        job_kwargs={"misfire_grace_time": 3600, "coalesce": True},
    )
