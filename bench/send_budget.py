"""One send budget, replies first: a broadcast while customers are writing, against a fake Bot API that
ENFORCES Telegram's limits (30 messages/s over all chats and 1/s per chat, in any one-second window; above
them it answers 429 with retry_after and delivers nothing) with a network round trip of --latency ms.

The real application (build_application's ReplyFirstRateLimiter) sends a --messages broadcast while
customers send /help at --ask-rate per second (Poisson arrivals from --askers customers, who get the
broadcast too, each update through the application's update processor as a running bot feeds it; a
customer writes again only once answered and READ_SECONDS later). Each broadcast is given --phase-timeout
seconds (a run that would hang prints its partial figures as TIMED OUT and the target as not met). Then,
in the same run and database, the baseline: the limiter as shipped before (bench/_separate_budgets.py:
PTB's AIORateLimiter for replies, a separate bulk pacer at OUTREACH_RATE) with a --baseline-messages
broadcast. Printed for each: broadcast messages/s, 429 answers (replies and bulk), reply latency p50/p95
(update handed over → the reply's Bot API call answered). Target: 0 × 429 and reply p95 < 200 ms.

    python bench/send_budget.py                     # 5,000 messages (~8 minutes, the baseline ~5 more)
    python bench/send_budget.py --smoke --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, select
from telegram import Update

from bench import _common as common
from bench._separate_budgets import BulkAwareRateLimiter
from bot.app import build_application
from bot.context import env_of
from bot.outreach import broadcasts, jobs
from bot.settings import Settings
from bot.unit_of_work import CommitBeforeSending
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Customer, OutboxMessage, OutboxState
from storage.outreach import create_broadcast
from tests.fakes import updates
from tests.fakes.bot_api import FakeBotApi, FakeRequest, too_many_requests
from tests.fakes.updates import TgUser

MERCHANT = 900001
ASKER_BASE = 500_000
OVERALL_PER_SECOND = 30
PER_CHAT_SECONDS = 1.0
READ_SECONDS = 1.0  # a customer reads the answer for at least this long before writing again


class EnforcingBotApi(FakeBotApi):
    """Telegram with a round trip that refuses, as Telegram does, what goes over its flood limits."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency
        self.delivered: deque[float] = deque()  # arrival times of messages accepted in the last second
        self.chat_last: dict[int, float] = {}
        self.refused: dict[str, int] = {"reply": 0, "bulk": 0}
        self.reasons: dict[str, int] = {"overall": 0, "chat": 0}  # which limit the 429s were for
        self.bulk_text = "\0"

    async def handle(self, method, params):
        await asyncio.sleep(self.latency / 2)
        try:
            if params.get("chat_id") is not None and method != "getUpdates":
                refusal = self._over_limit(int(params["chat_id"]))
                if refusal is not None:
                    kind = "bulk" if self.bulk_text in str(params.get("text", "")) else "reply"
                    self.refused[kind] += 1
                    return refusal.code, refusal.body()
            return await super().handle(method, params)
        finally:
            await asyncio.sleep(self.latency / 2)

    def _over_limit(self, chat_id: int):
        now = time.monotonic()
        while self.delivered and self.delivered[0] <= now - 1.0:
            self.delivered.popleft()
        if len(self.delivered) >= OVERALL_PER_SECOND:
            self.reasons["overall"] += 1
            return too_many_requests(retry_after=1)
        if now - self.chat_last.get(chat_id, -PER_CHAT_SECONDS) < PER_CHAT_SECONDS:
            self.reasons["chat"] += 1
            return too_many_requests(retry_after=1)
        self.delivered.append(now)
        self.chat_last[chat_id] = now
        return None


@dataclass
class Result:
    name: str
    sent: int
    seconds: float
    customers: Customers
    refused: dict[str, int]
    timed_out: bool = False
    reasons: dict[str, int] = field(default_factory=dict)  # 429s by limit: overall, chat

    @property
    def latencies(self) -> list[float]:
        return self.customers.latencies

    @property
    def rate(self) -> float:
        return self.sent / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(int(len(ordered) * share) - 1, 0)] if ordered else float("nan")


async def seed(db: Database, count: int, askers: int) -> None:
    async with db.session() as session:
        session.add_all(
            Customer(telegram_id=10_000 + n, first_name=f"C{n}", locale="en") for n in range(count)
        )
        session.add_all(
            Customer(telegram_id=ASKER_BASE + n, first_name=f"A{n}", locale="en") for n in range(askers)
        )


async def ask(app, user: TgUser, update_id: int) -> float:
    """A customer sends /help; seconds until the bot's answer was accepted by the Bot API."""
    update = Update.de_json({"update_id": update_id, **updates.command(user, "/help")}, app.bot)
    started = time.perf_counter()
    await app.update_processor.process_update(update, app.process_update(update))
    return time.perf_counter() - started


@dataclass
class Customers:
    """What the writing customers saw: each reply's latency, and the updates whose reply never came."""

    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    abandoned: int = 0  # still unanswered when the run ended (cancelled by the bench's timeout)


async def customers_writing(app, args, stop: asyncio.Event, seen: Customers) -> None:
    """Poisson arrivals at --ask-rate from --askers customers until `stop`; every one answered.

    A customer writes again only after the bot has answered and they have read the answer (READ_SECONDS):
    a person does not fire /help twice a second. Replies in one chat are therefore at least a second apart
    and only Telegram's overall limit can refuse them (the draft picked any customer at random: with 40
    chats at 20/s, a chat wrote every 2 s, two replies within a second drew 429s and every 429 paused the
    broadcast for retry_after, so it never finished)."""
    rng = random.Random(14)  # noqa: S311  (arrival times, not secrets)
    users = [TgUser(id=ASKER_BASE + n, first_name=f"A{n}") for n in range(args.askers)]
    free_at = dict.fromkeys(range(args.askers), 0.0)  # asker -> when they may write again
    pending: set[asyncio.Task[float]] = set()
    update_id = 0

    def answered(task: asyncio.Task[float], asker: int) -> None:
        # A done callback must not raise: a cancelled or failed task is counted, not read.
        pending.discard(task)
        free_at[asker] = time.monotonic() + READ_SECONDS
        if task.cancelled():
            seen.abandoned += 1
        elif task.exception() is not None:
            seen.failed += 1
        else:
            seen.latencies.append(task.result())

    try:
        while not stop.is_set():
            await asyncio.sleep(rng.expovariate(args.ask_rate))
            now = time.monotonic()
            idle = [n for n, at in free_at.items() if at <= now]
            if not idle:  # every customer is waiting for an answer or reading one
                continue
            asker = rng.choice(idle)
            free_at[asker] = float("inf")  # waiting for the answer
            update_id += 1
            task = asyncio.create_task(ask(app, users[asker], update_id))
            pending.add(task)
            task.add_done_callback(lambda done, asker=asker: answered(done, asker))
        if pending:
            await asyncio.wait(pending, timeout=args.drain_timeout)
    finally:
        for task in list(pending):
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)


async def run_broadcast(settings: Settings, db: Database, args, name: str, messages: int, baseline: bool):
    api = EnforcingBotApi(args.latency / 1000)
    app = build_application(settings, request=FakeRequest(api), db=db, migrate=False)
    if baseline:  # the old limiter in place of the one budget, still behind CommitBeforeSending
        old = BulkAwareRateLimiter(max_retries=3, bulk_rate=settings.outreach_rate)
        app.bot._rate_limiter = CommitBeforeSending(old)
    await app.initialize()
    try:
        await app.post_init(app)
        env = env_of(app)
        text = f"Big sale ({name})!"
        api.bulk_text = text
        async with db.session() as session:
            draft = await create_broadcast(session, created_by=MERCHANT, segment="all", text=text)
        await broadcasts.launch(env, broadcast_id=draft.id, chat_id=MERCHANT, message_id=1)
        # The baseline's broadcast is smaller: it is slow, and its rates compare all the same.
        await limit_outbox(db, draft.id, messages, args.askers)
        stop, seen = asyncio.Event(), Customers()
        writing = asyncio.create_task(customers_writing(app, args, stop, seen))
        timed_out = False
        try:
            await asyncio.sleep(1.0)  # customers are already writing when the broadcast starts
            with common.timed() as elapsed:
                try:
                    await asyncio.wait_for(jobs.dispatch(app), args.phase_timeout)
                except TimeoutError:
                    timed_out = True
        finally:
            stop.set()
            try:
                await asyncio.wait_for(writing, args.drain_timeout + 10)
            except TimeoutError:
                timed_out = True
        sent = sum(1 for call in api.sent("sendMessage") if text in (call.text or ""))
        await forget_unsent(db, draft.id)
        return Result(name, sent, elapsed.seconds, seen, dict(api.refused), timed_out, dict(api.reasons))
    finally:
        await asyncio.wait_for(app.shutdown(), 30)
        await asyncio.wait_for(app.post_shutdown(app), 30)


async def limit_outbox(db: Database, broadcast_id: int, messages: int, askers: int) -> None:
    """Keep the broadcast's rows to every asker and to the first others, `messages` rows in all."""
    async with db.session() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.id, Customer.telegram_id)
                .join(Customer, Customer.id == OutboxMessage.customer_id)
                .where(OutboxMessage.broadcast_id == broadcast_id)
                .order_by(OutboxMessage.id)
            )
        ).all()
        others = [row_id for row_id, telegram_id in rows if telegram_id < ASKER_BASE]
        doomed = others[max(messages - askers, 0) :]
        for start in range(0, len(doomed), 500):
            chunk = doomed[start : start + 500]
            await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(chunk)))  # type: ignore[attr-defined]


async def forget_unsent(db: Database, broadcast_id: int) -> None:
    """After a timeout: what the broadcast did not send must not go out in the next run's dispatch."""
    async with db.session() as session:
        await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.broadcast_id == broadcast_id,  # type: ignore[arg-type]
                OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)),  # type: ignore[attr-defined]
            )
        )


def show(result: Result, baseline: Result | None) -> None:
    p50, p95 = result.percentile(0.5), result.percentile(0.95)
    vs = ""
    if baseline is not None:
        vs = (
            f" (baseline {baseline.rate:.1f}/s: {common.ratio(result.rate, baseline.rate)}; reply p95 "
            f"{common.ratio(p95, baseline.percentile(0.95))} the baseline's)"
        )
    print(
        f"{result.name}: broadcast {result.sent} messages in {result.seconds:.1f} s = {result.rate:.1f}/s; "
        f"429 answers: {result.refused['reply']} to replies, {result.refused['bulk']} to bulk "
        f"({result.reasons.get('overall', 0)} over 30/s, "
        f"{result.reasons.get('chat', 0)} over 1/s in a chat); "
        f"{len(result.latencies)} replies, p50 {1000 * p50:.0f} ms, p95 {1000 * p95:.0f} ms, "
        f"max {1000 * max(result.latencies, default=float('nan')):.0f} ms; {result.customers.failed} "
        f"replies failed, {result.customers.abandoned} unanswered{vs}"
    )
    if result.timed_out:
        print(f"{result.name}: TIMED OUT after --phase-timeout {result.seconds:.0f} s (figures are partial)")


async def main(args) -> None:
    for name in ("bot.send_budget", "bench._separate_budgets", "telegram.ext.AIORateLimiter"):
        logging.getLogger(name).setLevel(logging.ERROR)  # each 429 is counted by the fake, not logged
    async with common.scratch_database(args.postgres) as url:
        settings = Settings(
            _env_file=None,
            bot_token="123:BENCH",  # noqa: S106  (a made-up token: the bench talks to a local fake Bot API)
            database_url=url,
            merchant_ids=(MERCHANT,),
            outreach_rate=args.rate,
            outreach_quiet_start=0,
            outreach_quiet_end=0,
            outreach_cap_hours=0,  # both runs' broadcasts reach the same customers
        )
        db = Database(url)
        try:
            await upgrade_to_head(db)
            await seed(db, max(args.messages, args.baseline_messages) - args.askers, args.askers)
            print(
                f"fake Bot API: {OVERALL_PER_SECOND}/s overall and 1/s per chat enforced, round trip "
                f"{args.latency:g} ms; customers write {args.ask_rate:g}/s from {args.askers} chats; "
                f"OUTREACH_RATE {args.rate:g}"
            )
            budget = await run_broadcast(settings, db, args, "one budget", args.messages, baseline=False)
            show(budget, None)
            old = await run_broadcast(settings, db, args, "baseline", args.baseline_messages, baseline=True)
            show(old, None)
            show(budget, old)
            ok = (
                not budget.timed_out
                and budget.refused == {"reply": 0, "bulk": 0}
                and budget.percentile(0.95) < 0.2
                and budget.customers.failed == budget.customers.abandoned == 0
            )
            print(f"target (0 × 429, reply p95 < 200 ms): {'met' if ok else 'NOT met'}")
        finally:
            await db.dispose()


if __name__ == "__main__":
    parser = common.BenchParser(__doc__)
    parser.add_size("--messages", 5000, 120, "customers the broadcast goes to")
    parser.add_size("--baseline-messages", 1000, 60, "customers the baseline's broadcast goes to")
    parser.add_size("--askers", 400, 40, "customers writing to the bot during the broadcast")
    parser.add_argument("--ask-rate", type=float, default=20.0, help="customer messages per second")
    parser.add_argument("--rate", type=float, default=25.0, help="OUTREACH_RATE (messages per second)")
    parser.add_argument("--latency", type=float, default=20.0, help="Bot API round trip, ms")
    parser.add_size("--phase-timeout", 900.0, 40.0, "seconds a broadcast may take before the run gives up")
    parser.add_size("--drain-timeout", 30.0, 3.0, "seconds to wait for the last replies after a broadcast")
    common.run(main, parser.parse_args())
