"""Inbound updates: throughput, latency and SQL per update of the real application, against a bare
python-telegram-bot Application with trivial handlers measured in the same run and mode.

    python bench/inbound.py                          # 5,000 customers, temporary SQLite (~10 minutes)
    python bench/inbound.py --latency-ms 20 --modes concurrent      # Bot API round trip of 20 ms
    python bench/inbound.py --smoke --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

The application is what build_application() makes (handlers, update processor, rate limiter), initialized
as the tests' harness does, talking to the in-process fake Bot API. The mix, from N customers in English and
Arabic: 40% /start (half from new customers, half returning), 20% /balance, 15% FAQ free text (phrasings
from data/faq.yaml and questions it does not answer), 10% taps on survey score buttons (surveys created
beforehand with storage/surveys.py), 10% /history, 5% /help. Each run gets customers of its own, so every
run starts from the same state.

Modes: sequential (`await application.process_update(update)` one by one) and concurrent (--chats
customers at once, each sending its next update when the last is answered, every update through
`application.update_processor` as a running Application feeds it). Latency is from handing the update over
to its last reply. SQL statements ("before_cursor_execute", leaving out SQLite's BEGIN [IMMEDIATE]) and
transactions ("begin") are counted per update with engine events and a context variable set around it.
Errors are counted, "database is locked" ones apart (with --chats 64 on SQLite: the lock figure).

Throughput is measured with PTB's rate limiter lifted (overall and group limits 0; bulk pacing kept), so
the database and handlers are what is measured; --built-updates more updates then run with the rate
limiter as build_application configures it (ReplyFirstRateLimiter: no reply waits for bulk sends, but
replies alone are spaced to TELEGRAM_MAX_RATE, 30 a second, as Telegram refuses more: so that line shows
about 27 updates/s at most, a second's margin of 0.1 s included). The bare app has PTB's
defaults (no rate limiter) and the bot's update processor limit. Last, in a second scratch database: p95
of customers' /balance while a merchant's /export of a --orders store runs, against /balance alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import random
import statistics
import sys
import warnings
from collections import Counter
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text
from sqlmodel import col, select
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bench import _common as common
from bot.app import build_application, order_listeners
from bot.context import env_of
from bot.faq import library
from bot.loyalty import purchases
from bot.send_budget import ReplyFirstRateLimiter
from bot.settings import Settings
from bot.surveys.service import score_keyboard
from bot.unit_of_work import CommitBeforeSending
from storage import surveys as survey_store
from storage.customers import get_customer
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Customer, Order, PointsEntry, SurveyKind, SurveyTrigger
from storage.points import COUPON_ALPHABET
from storage.rollups import rebuild_rollups
from storage.typed import saved_id
from tests.fakes import updates
from tests.fakes.bot_api import FakeBotApi, FakeRequest
from tests.fakes.updates import TgUser

MERCHANT = TgUser(id=900001, first_name="Mona", language_code="en")
START_NEW, START_BACK, BALANCE, FAQ_EN, FAQ_AR = (
    "/start new",
    "/start returning",
    "/balance",
    "FAQ en",
    "FAQ ar",
)
TAP, HISTORY, HELP = "survey tap", "/history", "/help"
KINDS = (START_NEW, START_BACK, BALANCE, FAQ_EN, FAQ_AR, TAP, HISTORY, HELP)
SHARES = {"start": 0.40, BALANCE: 0.20, "faq": 0.15, TAP: 0.10, HISTORY: 0.10}  # /help: the rest (5%)
ARABIC_SHARE = 0.4
FAQ_UNMATCHED = 0.3  # of FAQ texts: questions the sample FAQ does not answer
UNMATCHED = {
    "en": ["do you sell gift cards", "is the shop open on friday", "my parcel came damaged, what now",
           "can I change the colour after ordering", "hello", "where is your branch in riyadh"],
    "ar": ["هل تبيعون بطاقات الهدايا", "هل المتجر مفتوح يوم الجمعة", "وصل الطرد تالفا ماذا أفعل",
           "مرحبا", "هل يمكن تغيير اللون بعد الطلب", "أين فرعكم في الرياض"],
}  # fmt: skip
NAMES = {"en": ["Sam", "Lee", "John", "Maria", "Alex"], "ar": ["أميرة", "خالد", "سارة", "محمد", "ليلى"]}
LOCKED = "database is locked"
BATCH = 100  # orders per seeding transaction
ID_BLOCK = 1_000_000  # Telegram ids per run: run r's customers are 100,000,000 + r * ID_BLOCK + i
ID_RUNS = 900  # runs that fit below the 10**9 ids of the export store
SHOPPERS = 16  # customers sending /balance during the export

_update_ids = itertools.count(1)


@dataclass
class Tally:
    """What one update cost: filled in by the engine events and the fake Bot API while it runs."""

    kind: str
    statements: int = 0  # without SQLite's BEGIN [IMMEDIATE]: PostgreSQL's BEGIN is no statement either
    transactions: int = 0
    api_calls: int = 0
    latency: float = 0.0
    sql: list[str] = field(default_factory=list)  # the statements themselves, with --show-sql


CURRENT: ContextVar[Tally | None] = ContextVar("bench_inbound_update", default=None)
SHOW_SQL: list[bool] = [False]  # --show-sql: keep each update's statements (set once in main)


class SlowBotApi(FakeBotApi):
    """The fake Bot API with a network round trip per call, counting calls per update."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    async def handle(self, method, params):
        tally = CURRENT.get()
        if tally is not None:
            tally.api_calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        return await super().handle(method, params)


def count_sql(db: Database) -> None:
    engine = db.engine.sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        tally = CURRENT.get()
        if tally is not None and not statement.startswith("BEGIN"):
            tally.statements += 1
            if SHOW_SQL[0]:
                tally.sql.append(" ".join(statement.split())[:150])

    @event.listens_for(engine, "begin")
    def _begin(_connection: Any) -> None:
        tally = CURRENT.get()
        if tally is not None:
            tally.transactions += 1


class ErrorCount(logging.Handler):
    """Log records at WARNING and above (the bot logs every handler error), and those saying the database
    is locked. Installed instead of printing: thousands of tracebacks would bury the figures."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records = 0
        self.locked = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message += f" {record.exc_info[1]!r}"
        if LOCKED in message:
            self.locked += 1
        if self.first is None:
            self.first = message[:300]


@dataclass
class Errors:
    """Errors that reached the application's error handlers, by type; locked = 'database is locked'."""

    kinds: Counter = field(default_factory=Counter)
    locked: int = 0
    unanswered: int = 0  # updates that made no Bot API call
    first: str | None = None

    async def handler(self, update: object, context: Any) -> None:
        error = context.error
        self.kinds[type(error).__name__] += 1
        chain, seen = [], error
        while seen is not None and len(chain) < 5:
            chain.append(str(seen))
            seen = seen.__cause__ or seen.__context__
        if any(LOCKED in part for part in chain):
            self.locked += 1
        if self.first is None:
            self.first = f"{type(error).__name__}: {error}"[:300]

    def total(self) -> int:
        return sum(self.kinds.values())


@dataclass
class Item:
    kind: str
    payload: dict[str, Any]


@dataclass
class Cohort:
    """One run's customers: each customer's updates in order, and one interleaving of them all."""

    scripts: list[list[Item]]
    order: list[Item]


@dataclass
class Run:
    seconds: float
    tallies: list[Tally]
    errors: int
    locked: int

    @property
    def rate(self) -> float:
        return len(self.tallies) / self.seconds


def percentile(values: list[float], share: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def faq_texts() -> dict[str, list[str]]:
    """Questions and phrasings of the sample FAQ per locale, a few lower-cased or with a typo."""
    texts: dict[str, list[str]] = {"en": [], "ar": []}
    for entry in library.load_file(Settings(_env_file=None).faq_file):
        if entry.locale in texts:
            texts[entry.locale].extend([entry.question, *entry.phrasings])
    for phrases in texts.values():
        phrases.extend([p.lower().rstrip("?؟") for p in phrases[::3]])
        phrases.extend([p[:3] + p[4:] for p in phrases[1::5] if len(p) > 8])  # one letter dropped
    return texts


def plan(run: int, customers: int, count: int, rng: random.Random) -> tuple[list[TgUser], list[list[str]]]:
    """Users and the kinds of update each sends, in order. The first `new` users are not yet customers."""
    starts = round(SHARES["start"] * count)
    new = min(starts // 2, customers - 1)
    sized = {
        START_BACK: starts - new,
        **{kind: round(SHARES[kind] * count) for kind in (BALANCE, "faq", TAP, HISTORY)},
    }
    sized[HELP] = count - new - sum(sized.values())
    users = []
    for n in range(customers):
        locale = "ar" if rng.random() < ARABIC_SHARE else "en"
        name = rng.choice(NAMES[locale])
        users.append(TgUser(id=100_000_000 + run * ID_BLOCK + n, first_name=name, language_code=locale))
    scripts: list[list[str]] = [[START_NEW] if n < new else [] for n in range(customers)]
    known = range(new, customers)
    taps = rng.sample(known, min(sized[TAP], len(known)))
    for n in rng.choices(known, k=sized[START_BACK]):
        scripts[n].append(START_BACK)
    for kind in (BALANCE, "faq", HISTORY, HELP):
        for _ in range(sized[kind]):
            n = rng.randrange(customers)
            scripts[n].append(kind if kind != "faq" else FAQ_AR if users[n].language_code == "ar" else FAQ_EN)
    for n in range(customers):
        first = scripts[n][:1] if scripts[n][:1] == [START_NEW] else []
        rest = scripts[n][len(first) :]
        rng.shuffle(rest)
        scripts[n] = first + rest
    for n in taps:  # the tap comes last: free text right after a score would be taken as its reason
        scripts[n].append(TAP)
    return users, scripts


def member_code(telegram_id: int) -> str:
    """A member code of the bot's shape ("M" and 7 letters of its alphabet), unique per Telegram id."""
    letters = []
    for _ in range(7):
        telegram_id, digit = divmod(telegram_id, len(COUPON_ALPHABET))
        letters.append(COUPON_ALPHABET[digit])
    return "M" + "".join(reversed(letters))


async def seed(app: Application, users: list[TgUser], scripts: list[list[str]], rng: random.Random) -> dict:
    """The returning customers as /start leaves them (customer row, member code, welcome bonus) by bulk
    insert, an order for every tenth through ingest_order, and the surveys some of them will answer.
    Returns telegram id -> (message id of the survey question, callback data of one of its buttons)."""
    env = env_of(app)
    settings, now = env.settings, env.clock.now()
    known = [user for user, script in zip(users, scripts, strict=True) if START_NEW not in script]
    async with env.db.session() as session:
        joined = {user.id: now - timedelta(days=rng.randrange(1, 400)) for user in known}
        rows = [{"telegram_id": user.id, "first_name": user.first_name, "locale": user.language_code or "en",
                 "member_code": member_code(user.id), "marketing_opt_in": True, "reachable": True,
                 "created_at": joined[user.id], "last_seen_at": joined[user.id]}
                for user in known]  # fmt: skip
        for start in range(0, len(rows), 5_000):
            await session.execute(Customer.__table__.insert(), rows[start : start + 5_000])
        low, high = min(joined, default=0), max(joined, default=0)
        found = await session.execute(
            select(Customer.telegram_id, Customer.id).where(col(Customer.telegram_id).between(low, high))
        )
        ids: dict[int, int] = {telegram_id: customer_id for telegram_id, customer_id in found.all()}
        ledger = [{"customer_id": ids[user.id], "delta": settings.loyalty_welcome_bonus, "kind": "welcome",
                   "idempotency_key": f"welcome:{ids[user.id]}", "available_at": joined[user.id],
                   "created_at": joined[user.id]} for user in known]  # fmt: skip
        if settings.loyalty_welcome_bonus and ledger:
            await session.execute(PointsEntry.__table__.insert(), ledger)
    buyers = known[::10]
    for start in range(0, len(buyers), BATCH):
        async with env.db.session() as session:
            for user in buyers[start : start + BATCH]:
                await purchases.ingest_order(
                    session,
                    settings=settings,
                    listeners=order_listeners(),
                    now=now,
                    external_id=f"bench-{user.id}",
                    amount_minor=rng.randrange(1000, 40000),
                    ordered_at=now - timedelta(days=rng.randrange(20, 300)),
                    customer_id=ids[user.id],
                )
    async with env.db.session() as session:  # what the bot would add on their next update: nothing
        for user in known[:3]:
            customer = await get_customer(session, telegram_id=user.id)
            if customer is None:
                raise RuntimeError(f"seeded customer {user.id} not found")
            bonus, linked = await purchases.welcome_customer(
                session, settings=settings, now=now, customer=customer
            )
            if bonus or linked or customer.member_code != member_code(user.id):
                raise RuntimeError("seeded customers differ from what the bot makes of a /start")
    tapping = [user for user, script in zip(users, scripts, strict=True) if TAP in script]
    surveys = {}
    async with env.db.session() as session:
        for number, user in enumerate(tapping):
            survey = await survey_store.reserve_survey(
                session,
                customer_id=ids[user.id],
                kind=rng.choice(list(SurveyKind)),
                trigger=SurveyTrigger.MERCHANT,
                sent_at=now - timedelta(minutes=5),
                expires_at=now + timedelta(days=settings.survey_validity_days),
            )
            if survey is None:
                raise RuntimeError("a survey without an order could not be reserved")
            message_id = 50_000_000 + number
            await survey_store.mark_sent(
                session, survey_id=saved_id(survey), chat_id=user.id, message_id=message_id
            )
            keyboard = score_keyboard(env, user.language_code or "en", survey)  # the bot's own buttons
            button = rng.choice([button for row in keyboard.inline_keyboard for button in row])
            surveys[user.id] = (message_id, button.callback_data)
    return surveys


async def cohort(app: Application, run: int, customers: int, count: int, faq: dict) -> Cohort:
    rng = random.Random(run)  # noqa: S311  (reproducible synthetic traffic, not security)
    users, kinds = plan(run, customers, count, rng)
    surveys = await seed(app, users, kinds, rng)
    scripts = []
    for user, script in zip(users, kinds, strict=True):
        items = []
        for kind in script:
            if kind in (FAQ_EN, FAQ_AR):
                locale = "ar" if kind == FAQ_AR else "en"
                pool = UNMATCHED[locale] if rng.random() < FAQ_UNMATCHED else faq[locale]
                payload = updates.message(user, rng.choice(pool))
            elif kind == TAP:
                message_id, data = surveys[user.id]
                payload = updates.callback(user, data, message_id=message_id)
            else:
                payload = updates.command(user, kind.split()[0])
            items.append(Item(kind, payload))
        scripts.append(items)
    tickets = [n for n, items in enumerate(scripts) for _ in items]
    rng.shuffle(tickets)
    cursors = [iter(items) for items in scripts]
    order = [next(cursors[n]) for n in tickets]  # each customer's updates stay in their order
    first_seen = list(dict.fromkeys(tickets))
    return Cohort(scripts=[scripts[n] for n in first_seen], order=order)


async def tagged(tally: Tally, work: Awaitable[Any]) -> None:
    """Runs one update's processing with its tally current, in whatever task the processor awaits it."""
    token = CURRENT.set(tally)
    try:
        await work
    finally:
        CURRENT.reset(token)


def to_update(app: Application, item: Item) -> Update:
    return Update.de_json({"update_id": next(_update_ids), **item.payload}, app.bot)


async def feed(app: Application, update: Update, tally: Tally) -> Tally:
    """One update through the application's update processor, as Application's update fetcher does."""
    with common.timed() as took:
        await app.update_processor.process_update(update, tagged(tally, app.process_update(update)))
    tally.latency = took.seconds
    return tally


async def run_sequential(app: Application, items: list[Item], errors: Errors) -> Run:
    prepared = [(to_update(app, item), Tally(item.kind)) for item in items]
    before, locked = errors.total(), errors.locked
    with common.timed() as wall:
        for update, tally in prepared:
            with common.timed() as took:
                await tagged(tally, app.process_update(update))
            tally.latency = took.seconds
    return Run(wall.seconds, [t for _, t in prepared], errors.total() - before, errors.locked - locked)


async def run_concurrent(app: Application, scripts: list[list[Item]], chats: int, errors: Errors) -> Run:
    prepared = [[(to_update(app, item), Tally(item.kind)) for item in items] for items in scripts]
    queue: asyncio.Queue = asyncio.Queue()
    for script in prepared:
        queue.put_nowait(script)

    async def chat() -> None:  # one customer at a time, each sending its next update once answered
        while not queue.empty():
            for update, tally in queue.get_nowait():
                await feed(app, update, tally)

    before, locked = errors.total(), errors.locked
    with common.timed() as wall:
        await asyncio.gather(*(chat() for _ in range(min(chats, len(prepared)))))
    tallies = [tally for script in prepared for _, tally in script]
    return Run(wall.seconds, tallies, errors.total() - before, errors.locked - locked)


def bare_application(api: FakeBotApi, bot_app: Application) -> Application:
    """python-telegram-bot with trivial handlers answering a fixed text: PTB's defaults, no rate limiter,
    and the bot's update processor limit."""

    async def answer(update: Update, _context: Any) -> None:
        await update.effective_message.reply_text("OK")

    async def tap(update: Update, _context: Any) -> None:
        query = update.callback_query
        await query.answer()
        await query.edit_message_text("Thanks")

    app = (
        ApplicationBuilder()
        .token("123:BARE")  # a made-up token for the local fake Bot API
        .base_url("http://telegram.invalid/bot")
        .request(FakeRequest(api))
        .get_updates_request(FakeRequest(api))
        .concurrent_updates(bot_app.update_processor.max_concurrent_updates)
        .build()
    )
    app.add_handler(CommandHandler(["start", "balance", "history", "help"], answer))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, answer))
    app.add_handler(CallbackQueryHandler(tap))
    return app


def bench_settings(url: str) -> Settings:
    return Settings(
        _env_file=None,
        bot_token="123:BENCH",  # noqa: S106  (a made-up token: the bench talks to a local fake Bot API)
        database_url=url,
        merchant_ids=(MERCHANT.id,),
        port=None,
        webhook_url=None,
        outreach_rate=1000,  # nothing is sent in bulk while measuring; seeding surveys is not paced
        outreach_quiet_start=0,
        outreach_quiet_end=0,
    )


def lifted_limiter(settings: Settings) -> CommitBeforeSending:
    """build_application's rate limiter with the overall budget lifted (replies are never throttled by it
    anyway; bulk pacing kept at OUTREACH_RATE), still committing each update's unit of work before a Bot
    API call as the bot's own does."""
    return CommitBeforeSending(
        ReplyFirstRateLimiter(max_rate=1000, bulk_rate=settings.outreach_rate, max_retries=3)
    )


@contextlib.asynccontextmanager
async def started(app: Application):
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        yield app
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def describe(app: Application) -> str:
    processor = app.update_processor
    limiter = app.bot.rate_limiter
    base = getattr(limiter, "_base_limiter", None)
    overall = f", {base.max_rate:g} messages/s overall" if base is not None else ""
    name = type(limiter).__name__ if limiter is not None else "none"
    return (
        f"update processor {type(processor).__name__}(max_concurrent_updates="
        f"{processor.max_concurrent_updates}); rate limiter {name}{overall}"
    )


def type_rows(runs: list[Run], bare: list[Run]) -> list[str]:
    """Per update kind: share, p50/p95 (median over runs), the bare app's p50, SQL, transactions, calls."""
    head = (
        f"    {'update':<17}{'share':>6}{'p50 ms':>9}{'p95 ms':>9}{'bare p50':>10}{'p50/bare':>10}"
        f"{'SQL/upd':>9}{'tx/upd':>8}{'API/upd':>9}"
    )
    rows = [head]
    for kind in (*KINDS, "all"):

        def of(run: Run, kind: str = kind) -> list[Tally]:
            return [t for t in run.tallies if kind in ("all", t.kind)]

        if not of(runs[0]):
            continue
        p50 = statistics.median(percentile([t.latency for t in of(r)], 0.5) for r in runs)
        p95 = statistics.median(percentile([t.latency for t in of(r)], 0.95) for r in runs)
        bare50 = statistics.median(percentile([t.latency for t in of(r)], 0.5) for r in bare)
        pooled = [t for r in runs for t in of(r)]
        share = len(of(runs[0])) / len(runs[0].tallies)
        rows.append(
            f"    {kind:<17}{share:>6.0%}{1000 * p50:>9.2f}{1000 * p95:>9.2f}{1000 * bare50:>10.3f}"
            f"{common.ratio(p50, bare50):>10}{statistics.mean(t.statements for t in pooled):>9.2f}"
            f"{statistics.mean(t.transactions for t in pooled):>8.2f}"
            f"{statistics.mean(t.api_calls for t in pooled):>9.2f}"
        )
    return rows


def report(mode: str, runs: list[Run], bare: list[Run], args, note: str) -> int:
    """Prints one mode's figures; returns how many updates got no reply."""
    rate = statistics.median(r.rate for r in runs)
    bare_rate = statistics.median(r.rate for r in bare)
    chats = f", {args.chats} chats at once" if mode == "concurrent" else ""
    print(f"\n{mode}{chats}, {note}:")
    print(
        f"  bot {rate:,.1f} updates/s, bare PTB {bare_rate:,.0f} updates/s "
        f"(bot/bare {rate / bare_rate:.4f}; the bare app is {common.ratio(bare_rate, rate)} faster)"
    )
    for row in type_rows(runs, bare):
        print(row)
    unanswered = sum(1 for run in runs for t in run.tallies if t.api_calls == 0)
    print(
        f"  errors in the bot's handlers: {sum(r.errors for r in runs)} "
        f"(database is locked: {sum(r.locked for r in runs)}); bare: {sum(r.errors for r in bare)}"
    )
    return unanswered


def show_sql(tallies: list[Tally]) -> None:
    """The statements of the costliest update of each kind (first run of the first mode)."""
    print("\nSQL of the costliest update of each kind:")
    for kind in KINDS:
        costliest = max((t for t in tallies if t.kind == kind), key=lambda t: t.statements, default=None)
        if costliest is not None:
            print(f"  {kind}: {costliest.statements} statements, {costliest.transactions} transaction(s)")
            for statement in costliest.sql:
                print(f"    {statement}")


async def measure_mix(url: str, args, log: ErrorCount) -> bool:
    """The mix in every mode, interleaved with the bare app, then with the rate limiter as built."""
    settings = bench_settings(url)
    db = Database(url)
    try:
        await upgrade_to_head(db)
        count_sql(db)
        api, bare_api = SlowBotApi(args.latency_ms / 1000), SlowBotApi(args.latency_ms / 1000)
        app = build_application(settings, request=FakeRequest(api), db=db, migrate=False)
        errors, bare_errors = Errors(), Errors()
        app.add_error_handler(errors.handler)
        bare = bare_application(bare_api, app)
        bare.add_error_handler(bare_errors.handler)
        async with started(app), started(bare):
            await library.ensure_seeded(env_of(app), app.bot_data)  # the one-off seeding job, done now
            print(f"bot as built: {describe(app)}")
            print(f"bare PTB app: {describe(bare)}; Bot API round trip {args.latency_ms:g} ms")
            faq = faq_texts()
            width = len(args.modes)
            with common.timed() as seeding:
                cohorts = [
                    [
                        await cohort(app, r * width + m, args.customers, args.updates, faq)
                        for m in range(width)
                    ]
                    for r in range(args.runs)
                ]
                built_cohorts = [
                    await cohort(app, ID_RUNS - 1 - m, args.built_updates, args.built_updates, faq)
                    for m in range(width)
                ]
            print(f"seeded {(args.runs + 1) * width} runs' customers and surveys in {seeding.seconds:.1f} s")
            built = app.bot.rate_limiter
            app.bot._rate_limiter = lifted_limiter(settings)
            results: dict[str, tuple[list[Run], list[Run]]] = {mode: ([], []) for mode in args.modes}
            for r in range(args.runs):  # interleaved: bare, bot, bare, bot ... for every mode
                for m, mode in enumerate(args.modes):
                    bare_run = await run_mode(bare, mode, cohorts[r][m], args, bare_errors)
                    bot_run = await run_mode(app, mode, cohorts[r][m], args, errors)
                    results[mode][0].append(bot_run)
                    results[mode][1].append(bare_run)
                    print(
                        f"  run {r + 1}/{args.runs} {mode}: bot {bot_run.rate:,.1f} updates/s, "
                        f"bare {bare_run.rate:,.0f} updates/s",
                        flush=True,
                    )
                    api.calls.clear()
                    bare_api.calls.clear()
            note = (
                f"median of {args.runs} interleaved runs, {args.updates:,} updates from {args.customers:,} "
                f"customers each, PTB rate limiter LIFTED"
            )
            for mode in args.modes:
                errors.unanswered += report(mode, *results[mode], args, note)
            if args.show_sql:
                show_sql(results[args.modes[0]][0][0].tallies)
            if db.is_sqlite:
                print("  (SQL/upd leaves out SQLite's BEGIN [IMMEDIATE], one per transaction: see tx/upd)")
            app.bot._rate_limiter = built
            print(f"\nrate limiter AS BUILT, one run per mode of {args.built_updates:,} updates:")
            for m, mode in enumerate(args.modes):
                bare_run = await run_mode(bare, mode, built_cohorts[m], args, bare_errors)
                bot_run = await run_mode(app, mode, built_cohorts[m], args, errors)
                lifted = statistics.median(r.rate for r in results[mode][0])
                p95 = percentile([t.latency for t in bot_run.tallies], 0.95)
                print(
                    f"  {mode:<10}: bot {bot_run.rate:,.1f} updates/s ({common.ratio(bot_run.rate, lifted)} "
                    f"lifted), p95 {1000 * p95:.1f} ms, bare PTB {bare_run.rate:,.0f} updates/s; "
                    f"errors {bot_run.errors} (database is locked: {bot_run.locked})"
                )
                unanswered = sum(1 for t in bot_run.tallies if t.api_calls == 0)
                errors.unanswered += unanswered
        return healthy(errors, bare_errors, log)
    finally:
        await db.dispose()


async def run_mode(app: Application, mode: str, mine: Cohort, args, errors: Errors) -> Run:
    if mode == "sequential":
        return await run_sequential(app, mine.order, errors)
    return await run_concurrent(app, mine.scripts, args.chats, errors)


def healthy(errors: Errors, bare_errors: Errors, log: ErrorCount) -> bool:
    """Errors other than 'database is locked', or an update without a reply, mean the bench (or the bot)
    is broken: say so (the run exits 1)."""
    if errors.total() or log.records:
        print(
            f"  error handler saw {dict(errors.kinds)}, first: {errors.first}; "
            f"{log.records} log records at WARNING+ ({log.locked} 'database is locked'), first: {log.first}"
        )
    if errors.unanswered:
        print(f"  {errors.unanswered} updates got no reply at all")
    if errors.total() - errors.locked or bare_errors.total() or errors.unanswered:
        print(
            "FAILED: updates raised errors other than 'database is locked', or got no reply", file=sys.stderr
        )
        return False
    return True


async def bulk_store(db: Database, customers: int, orders: int) -> None:
    """Customers and two years of their orders by bulk insert (as bench/analytics_stats.py does)."""
    rng = random.Random(11)  # noqa: S311  (reproducible synthetic data, not security)
    now = datetime.now(UTC)
    base = now - timedelta(days=730)
    async with db.session() as session:
        rows = [{"id": n + 1, "telegram_id": 10**9 + n, "first_name": f"C{n}", "locale": "en",
                 "marketing_opt_in": True, "reachable": True, "created_at": now}
                for n in range(customers)]  # fmt: skip
        for start in range(0, customers, 20_000):
            await session.execute(Customer.__table__.insert(), rows[start : start + 20_000])
        batch = []
        for n in range(orders):
            moment = base + timedelta(days=rng.randrange(725), seconds=rng.randrange(86400))
            batch.append({"external_id": f"x{n}", "customer_id": rng.randrange(customers) + 1,
                          "amount_minor": rng.randrange(500, 50000), "currency": "USD", "source": "bench",
                          "status": "refunded" if rng.random() < 0.03 else "paid", "ordered_at": moment,
                          "created_at": now})  # fmt: skip
            if len(batch) == 20_000 or n == orders - 1:
                await session.execute(Order.__table__.insert(), batch)
                batch = []
        if not db.is_sqlite:
            await session.execute(text("SELECT setval('customers_id_seq', (SELECT max(id) FROM customers))"))
    async with db.session() as session:
        await rebuild_rollups(session)
    if not db.is_sqlite:  # statistics after a bulk load, as autovacuum would have them on a live database
        async with db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))


async def balances(app: Application, users: list[TgUser], interval: float, *, count=0, until=None) -> list:
    """Customers' /balance arriving every `interval` s (open loop): `count` of them, or until `until` ends."""
    tasks = []
    for n in itertools.count():
        if (until is None and n >= count) or (until is not None and until.done()):
            break
        update = to_update(app, Item(BALANCE, updates.command(users[n % len(users)], "/balance")))
        tasks.append(asyncio.create_task(feed(app, update, Tally(BALANCE))))
        await asyncio.sleep(interval)
    return [tally.latency for tally in await asyncio.gather(*tasks)]


async def measure_export(url: str, args, log: ErrorCount) -> bool:
    settings = bench_settings(url)
    db = Database(url)
    try:
        await upgrade_to_head(db)
        customers = max(args.orders // 10, SHOPPERS)
        with common.timed() as seeding:
            await bulk_store(db, customers, args.orders)
        print(f"seeded {customers:,} customers, {args.orders:,} orders, rollups in {seeding.seconds:.1f} s")
        api = SlowBotApi(args.latency_ms / 1000)
        app = build_application(settings, request=FakeRequest(api), db=db, migrate=False)
        errors = Errors()
        app.add_error_handler(errors.handler)
        async with started(app):
            app.bot._rate_limiter = lifted_limiter(settings)
            shoppers = [TgUser(id=10**9 + n, first_name=f"C{n}") for n in range(SHOPPERS)]
            await balances(app, shoppers, 0, count=SHOPPERS)  # first /balance: member code, welcome bonus
            interval = 1 / args.balance_rate
            alone = await balances(app, shoppers, interval, count=args.balance_samples)
            export = to_update(app, Item("/export", updates.command(MERCHANT, "/export")))
            with common.timed() as took:
                job = asyncio.create_task(feed(app, export, Tally("/export")))
                during = await balances(app, shoppers, interval, until=job)
                await job
            documents = api.sent("sendDocument")
            if len(documents) != 3:
                raise RuntimeError(f"/export sent {len(documents)} documents, not 3")
        size = sum(len(call.params["_files"]["document"][1]) for call in documents) / 1e6
        print(
            f"/export of {args.orders:,} orders ({size:.1f} MB in 3 CSV documents): {took.seconds:.2f} s; "
            f"customers' /balance every {1000 * interval:.0f} ms through the update processor (rate limiter "
            f"lifted):"
        )
        if during:
            print(
                f"  during the export ({len(during)}): p50 {1000 * percentile(during, 0.5):.0f} ms, "
                f"p95 {1000 * percentile(during, 0.95):.0f} ms "
                f"({common.ratio(percentile(during, 0.95), percentile(alone, 0.95))} the p95 without it)"
            )
        print(
            f"  without it ({len(alone)}): p50 {1000 * percentile(alone, 0.5):.1f} ms, "
            f"p95 {1000 * percentile(alone, 0.95):.1f} ms; errors {errors.total()} "
            f"(database is locked: {errors.locked})"
        )
        return healthy(errors, Errors(), log)
    finally:
        await db.dispose()


async def main(args) -> None:
    SHOW_SQL[0] = args.show_sql
    log = ErrorCount()
    logging.basicConfig(level=logging.WARNING, handlers=[log], force=True)
    async with common.scratch_database(args.postgres) as url:
        mix = await measure_mix(url, args, log)
    print()
    async with common.scratch_database(args.postgres) as url:
        export = await measure_export(url, args, log)
    if not (mix and export):
        sys.exit(1)


def modes(value: str) -> list[str]:
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    if not chosen or set(chosen) - {"sequential", "concurrent"}:
        raise ValueError(value)
    return chosen


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # sqlmodel nudges bulk inserts to exec()
    parser = common.BenchParser(__doc__)
    parser.add_size("--customers", 5000, 100, "customers per run (a share of them new)")
    parser.add_size("--updates", 5000, 100, "updates per run")
    parser.add_size("--runs", 3, 1, "interleaved runs per mode (medians are reported)")
    parser.add_size("--built-updates", 1000, 20, "updates per mode with the rate limiter as built")
    parser.add_size("--orders", 100_000, 2_000, "orders of the store /export runs on")
    parser.add_size("--balance-samples", 50, 10, "/balance updates timed without an export running")
    parser.add_argument("--chats", type=int, default=64, help="concurrent mode: customers at once (64)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="Bot API round trip per call (0)")
    parser.add_argument("--balance-rate", type=float, default=5.0, help="customers' /balance per second (5)")
    parser.add_argument("--show-sql", action="store_true", help="print each kind's costliest SQL")
    parser.add_argument(
        "--modes", type=modes, default=["sequential", "concurrent"], help="sequential,concurrent (both)"
    )
    common.run(main, parser.parse_args())
