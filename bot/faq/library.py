"""The FAQ as the bot uses it: the FAQ file, seeding the store from it once, and matching customer text."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from telegram.ext import Application

from bot.context import AppEnv, BotContext, env_of, job_queue_of
from bot.faq import matching
from bot.settings import LOCALES
from storage import faq as store
from storage.faq import EntryData
from storage.models import FaqEntry
from storage.typed import saved_id

logger = logging.getLogger(__name__)

CODE = re.compile(r"^[a-z0-9_]{1,32}$")
QUESTION_MAX = 300
ANSWER_MAX = 3000
POOL_KEY = "faq_pool"
# Edits in chat refresh the cache at once; this bounds how long an import from the command line
# (`python -m bot faq-import`) takes to reach a running bot.
POOL_SECONDS = 60
SEEDED_KEY = "faq_seeded"
# How often an entry answered someone is counted in memory and written every HITS_FLUSH_SECONDS (and at
# shutdown, and before /faq ranks the entries): an answer to a customer then writes nothing, so it takes
# no write lock. A crash loses at most that many seconds of counts, never an answer.
HITS_KEY = "faq_hits"
HITS_FLUSH_SECONDS = 30
# libyaml's safe loader when PyYAML was built with it (the wheels are): the same documents, parsed about
# ten times faster than the pure-Python one (the sample FAQ took 50 ms at every start).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_file(path: Path) -> list[EntryData]:
    """Read the FAQ file; ValueError names the entry and field that is wrong."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or {}  # noqa: S506  (a safe loader)
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML ({error})") from None
    # A hand-edited file can have any shape: each level is checked so the error names it.
    items = (document.get("entries") or []) if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"{path}: needs a list under 'entries:'")
    entries: list[EntryData] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ValueError(f"{path}: entry {number} must be a mapping with code, en and ar")
        code = str(item.get("code", "")).strip().lower()
        if not CODE.match(code):
            raise ValueError(f"{path}: entry {number} needs a code of a-z, 0-9 and _ (got {code!r})")
        for locale in LOCALES:
            texts = item.get(locale)
            if texts is None:
                continue
            if not isinstance(texts, dict):
                raise ValueError(f"{path}: entry {code!r} ({locale}) needs question, phrasings and answer")
            question, answer = (
                str(texts.get("question") or "").strip(),
                str(texts.get("answer") or "").strip(),
            )
            if not question or not answer:
                raise ValueError(f"{path}: entry {code!r} ({locale}) needs a question and an answer")
            listed = texts.get("phrasings") or []
            listed = [listed] if isinstance(listed, str) else listed  # one phrasing written without a list
            if not isinstance(listed, list):
                raise ValueError(f"{path}: entry {code!r} ({locale}) needs phrasings as a list")
            phrasings = tuple(str(p).strip() for p in listed if str(p).strip())
            entries.append(EntryData(code, locale, question[:QUESTION_MAX], phrasings, answer[:ANSWER_MAX]))
    return entries


async def ensure_seeded(env: AppEnv, bot_data: dict[str, Any]) -> None:
    """Seed the store from FAQ_FILE the first time any database is used (once per process to check)."""
    if bot_data.get(SEEDED_KEY):
        return
    path = env.settings.faq_file
    try:
        entries = load_file(path)
    except FileNotFoundError:
        logger.warning("FAQ file %s not found; the FAQ starts empty", path)
        entries = []
    except ValueError:
        logger.exception("FAQ file is invalid; the FAQ starts empty until it is fixed")
        bot_data[SEEDED_KEY] = True
        return
    async with env.writing() as session:
        seeded = await store.seed_once(session, entries=entries, source=path.name, now=env.clock.now())
    if seeded:
        logger.info("FAQ seeded with %d entries from %s", len(entries), path)
        forget_pool(bot_data)
    bot_data[SEEDED_KEY] = True


def schedule(application: Application) -> None:
    """Seed the FAQ as soon as the bot runs, so the first customer does not wait for it."""

    async def seed(context: BotContext) -> None:
        await ensure_seeded(env_of(context), context.bot_data)

    async def flush(context: BotContext) -> None:
        await flush_hits(env_of(context), context.bot_data)

    job_queue = job_queue_of(application)
    job_queue.run_once(seed, when=0, name="faq-seed")
    job_queue.run_repeating(
        flush,
        interval=HITS_FLUSH_SECONDS,
        first=HITS_FLUSH_SECONDS,
        name="faq-hits",
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )


def count_hit(bot_data: dict[str, Any], entry_id: int) -> None:
    """One more time this entry answered someone (written by `flush_hits`)."""
    hits: Counter[int] = bot_data.setdefault(HITS_KEY, Counter())
    hits[entry_id] += 1


async def flush_hits(env: AppEnv, bot_data: dict[str, Any]) -> None:
    """Write the counted answers; what fails to be written is counted again for the next flush."""
    pending: Counter[int] | None = bot_data.pop(HITS_KEY, None)
    if not pending:
        return
    try:
        async with env.writing() as session:
            await store.add_hits(session, counts=dict(pending))
    except BaseException:
        bot_data.setdefault(HITS_KEY, Counter()).update(pending)
        raise


def forget_pool(bot_data: dict[str, Any]) -> None:
    """Drop the cached matching pool after the FAQ changed."""
    bot_data.pop(POOL_KEY, None)


async def pool(env: AppEnv, bot_data: dict[str, Any]) -> tuple[list[matching.Candidate], dict[int, FaqEntry]]:
    """Every entry prepared for matching, cached until the FAQ changes."""
    cached = bot_data.get(POOL_KEY)
    if cached is None or time.monotonic() - cached[0] > POOL_SECONDS:
        await ensure_seeded(env, bot_data)
        async with env.reading() as session:
            entries = await store.list_entries(session)
        by_id = {saved_id(entry): entry for entry in entries}
        prepared = matching.candidates((saved_id(e), e.question, e.phrasing_list) for e in entries)
        cached = bot_data[POOL_KEY] = (time.monotonic(), prepared, by_id)
    return cached[1], cached[2]


async def find(env: AppEnv, bot_data: dict[str, Any], text: str) -> list[FaqEntry]:
    """The entries to offer for `text`: one (answer it), two (let the customer pick) or none (a gap)."""
    prepared, by_id = await pool(env, bot_data)
    decision = matching.decide(
        text,
        prepared,
        threshold=env.settings.faq_match_threshold,
        margin=env.settings.faq_ambiguity_margin,
    )
    return [by_id[match.entry_id] for match in decision.matches if match.entry_id in by_id]
