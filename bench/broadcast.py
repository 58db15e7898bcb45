"""Broadcast pacing: achieved send rate vs OUTREACH_RATE, and how long customers wait for a reply while a
broadcast is going out. The real application against the in-process fake Bot API (each call takes
--latency ms, like a network round trip), on SQLite or --db URL.

    python bench/broadcast.py                       # 5,000 messages at the default 25/s (~3.5 minutes)
    python bench/broadcast.py --messages 1000 --rate 100
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update

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
    started = time.perf_counter()
    update = Update.de_json({"update_id": 1, **updates.command(ASKER, "/help")}, app.bot)
    await app.process_update(update)
    assert len(api.sent("sendMessage", chat_id=ASKER.id)) > before
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite+aiosqlite:///{folder}/bench.db"
        settings = Settings(
            _env_file=None,
            bot_token="123:BENCH",
            database_url=url,
            merchant_ids=(MERCHANT,),
            outreach_rate=args.rate,
            outreach_quiet_start=0,
            outreach_quiet_end=0,
        )
        db = Database(url)
        await upgrade_to_head(db)
        await seed(db, args.messages)
        api = SlowBotApi(args.latency / 1000)
        app = build_application(settings, request=FakeRequest(api), db=db, migrate=False)
        await app.initialize()
        await app.post_init(app)
        env = env_of(app)
        async with db.session() as session:
            broadcast = await create_broadcast(session, created_by=MERCHANT, segment="all", text="Big sale!")
        # The asker is a customer too; they get the broadcast like everyone else.
        total = await broadcasts.launch(env, broadcast_id=broadcast.id, chat_id=MERCHANT, message_id=1)
        started = time.perf_counter()
        drain = asyncio.create_task(jobs.dispatch(app))
        latencies = []
        while not drain.done():
            await asyncio.sleep(args.ask_every)
            latencies.append(await ask(app, api))
        await drain
        elapsed = time.perf_counter() - started
        sent = sum(1 for call in api.sent("sendMessage") if "Big sale" in (call.text or ""))
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1] if latencies else 0.0
        print(f"broadcast: {sent}/{total} messages in {elapsed:.1f} s")
        print(f"send rate: {sent / elapsed:.1f}/s achieved vs {args.rate:g}/s configured")
        print(
            f"reply latency during the broadcast ({len(latencies)} replies): "
            f"median {1000 * statistics.median(latencies):.0f} ms, p95 {1000 * p95:.0f} ms, "
            f"max {1000 * latencies[-1]:.0f} ms (Bot API round trip {args.latency:g} ms)"
        )
        await app.shutdown()
        await app.post_shutdown(app)
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=25.0, help="OUTREACH_RATE (messages per second)")
    parser.add_argument("--latency", type=float, default=20.0, help="Bot API round trip, ms")
    parser.add_argument("--ask-every", type=float, default=0.5, help="seconds between customer messages")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    asyncio.run(main(parser.parse_args()))
