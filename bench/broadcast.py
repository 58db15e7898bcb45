"""Broadcast pacing: achieved send rate vs OUTREACH_RATE, and how long customers wait for a reply while a
broadcast is going out. The real application against the in-process fake Bot API (each call takes
--latency ms, like a network round trip), on a temporary SQLite file or a scratch PostgreSQL database.

    python bench/broadcast.py                       # 5,000 messages at the default 25/s (~3.5 minutes)
    python bench/broadcast.py --messages 1000 --rate 100
    python bench/broadcast.py --smoke --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update

from bench import _common as common
from bot.app import build_application
from bot.context import env_of
from bot.outreach import broadcasts, jobs
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Customer
from storage.outreach import create_broadcast
from tests.fakes import updates
from tests.fakes.bot_api import FakeBotApi, FakeRequest
from tests.fakes.updates import TgUser

MERCHANT = 900001
ASKER = TgUser(id=555, first_name="Asker")


class SlowBotApi(FakeBotApi):
    """Telegram with a network round trip."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    async def handle(self, method, params):
        await asyncio.sleep(self.latency)
        return await super().handle(method, params)


async def seed(db: Database, count: int) -> None:
    async with db.session() as session:
        session.add_all(
            Customer(telegram_id=10_000 + n, first_name=f"C{n}", locale="en") for n in range(count)
        )
        session.add(Customer(telegram_id=ASKER.id, first_name="Asker", locale="en"))


async def ask(app, api: SlowBotApi) -> float:
    """A customer sends /help; seconds until the bot's answer reached Telegram."""
    before = len(api.sent("sendMessage", chat_id=ASKER.id))
    update = Update.de_json({"update_id": 1, **updates.command(ASKER, "/help")}, app.bot)
    with common.timed() as reply:
        await app.process_update(update)
    if len(api.sent("sendMessage", chat_id=ASKER.id)) <= before:
        raise RuntimeError("the bot did not answer /help")
    return reply.seconds


async def main(args) -> None:
    async with common.scratch_database(args.postgres) as url:
        settings = Settings(
            _env_file=None,
            bot_token="123:BENCH",  # noqa: S106  (a made-up token: the bench talks to a local fake Bot API)
            database_url=url,
            merchant_ids=(MERCHANT,),
            outreach_rate=args.rate,
            outreach_quiet_start=0,
            outreach_quiet_end=0,
        )
        db = Database(url)
        try:
            await upgrade_to_head(db)
            await seed(db, args.messages)
            api = SlowBotApi(args.latency / 1000)
            app = build_application(settings, request=FakeRequest(api), db=db, migrate=False)
            await app.initialize()
            try:
                await app.post_init(app)
                await broadcast(app, api, db, args)
            finally:
                await app.shutdown()
                await app.post_shutdown(app)
        finally:
            await db.dispose()


async def broadcast(app, api: SlowBotApi, db: Database, args) -> None:
    env = env_of(app)
    async with db.session() as session:
        draft = await create_broadcast(session, created_by=MERCHANT, segment="all", text="Big sale!")
    # The asker is a customer too; they get the broadcast like everyone else.
    total = await broadcasts.launch(env, broadcast_id=draft.id, chat_id=MERCHANT, message_id=1)
    with common.timed() as elapsed:
        drain = asyncio.create_task(jobs.dispatch(app))
        latencies = []
        while not drain.done():
            await asyncio.sleep(args.ask_every)
            latencies.append(await ask(app, api))
        await drain
    sent = sum(1 for call in api.sent("sendMessage") if "Big sale" in (call.text or ""))
    if sent != total:
        raise RuntimeError(f"{sent} of {total} broadcast messages reached Telegram")
    latencies.sort()
    p95 = latencies[max(int(len(latencies) * 0.95) - 1, 0)]
    median = statistics.median(latencies)
    achieved = sent / elapsed.seconds
    round_trip = args.latency / 1000
    print(f"broadcast: {sent}/{total} messages in {elapsed.seconds:.1f} s")
    print(
        f"send rate: {achieved:.1f}/s achieved vs {args.rate:g}/s configured "
        f"({common.ratio(achieved, args.rate)})"
    )
    print(
        f"reply latency during the broadcast ({len(latencies)} replies): "
        f"median {1000 * median:.0f} ms ({common.ratio(median, round_trip)} the Bot API round trip of "
        f"{args.latency:g} ms), p95 {1000 * p95:.0f} ms, max {1000 * latencies[-1]:.0f} ms"
    )


if __name__ == "__main__":
    parser = common.BenchParser(__doc__)
    parser.add_size("--messages", 5000, 60, "customers the broadcast goes to")
    parser.add_size("--ask-every", 0.5, 0.2, "seconds between customer messages")
    parser.add_argument("--rate", type=float, default=25.0, help="OUTREACH_RATE (messages per second)")
    parser.add_argument("--latency", type=float, default=20.0, help="Bot API round trip, ms")
    common.run(main, parser.parse_args())
