"""Quiet, useful logs: no per-second scheduler lines or Alembic chatter at INFO, JSON lines on request, and a
shutdown during running jobs without an ERROR traceback."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from contextlib import redirect_stderr
from datetime import timedelta

import pytest

from bot.app import build_application
from bot.logs import configure_logging
from bot.runner import stop
from storage.db import Database
from storage.migrate import upgrade_to_head
from tests.fakes.bot_api import FakeRequest


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("apscheduler", "alembic", "httpx")}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


def test_at_info_the_scheduler_and_alembic_are_quiet_and_our_lines_are_kept(restore_logging):
    stream = io.StringIO()
    with redirect_stderr(stream):
        configure_logging("INFO")
        logging.getLogger("apscheduler.executors.default").info('Running job "outreach-dispatch"')
        logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
        logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot123:SECRET/getMe")
        logging.getLogger("apscheduler.executors.default").error("Job failed")
        logging.getLogger("bot.outreach.jobs").info("Outreach sweep queued {'birthday': 2}")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert "Job failed" in lines[0] and "Outreach sweep queued" in lines[1]
    assert "SECRET" not in stream.getvalue()


def test_debug_shows_everything(restore_logging):
    stream = io.StringIO()
    with redirect_stderr(stream):
        configure_logging("DEBUG")
        logging.getLogger("apscheduler.executors.default").info('Running job "outreach-dispatch"')
    assert "Running job" in stream.getvalue()


def test_json_lines_carry_time_level_logger_message_and_traceback(restore_logging):
    stream = io.StringIO()
    with redirect_stderr(stream):
        configure_logging("INFO", "json")
        logging.getLogger("bot.test").info("مرحبا %s", "Nora")
        try:
            raise ValueError("bad thing")
        except ValueError:
            logging.getLogger("bot.test").exception("It broke")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "INFO" and first["logger"] == "bot.test" and first["message"] == "مرحبا Nora"
    assert first["time"]
    assert second["level"] == "ERROR" and "ValueError: bad thing" in second["exc_info"]


async def test_migrating_a_new_database_logs_nothing_from_alembic_at_info(restore_logging, tmp_path):
    stream = io.StringIO()
    with redirect_stderr(stream):
        configure_logging("INFO")
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/new.db")
        try:
            await upgrade_to_head(db)
        finally:
            await db.dispose()
    assert stream.getvalue() == ""


async def test_stopping_while_jobs_run_waits_for_them_without_an_error(settings, db, bot_api, caplog):
    """A long job is running and a frequent one keeps falling due: stopping lets the running ones finish and
    starts no new one, so APScheduler never cancels a job (which it logs as an ERROR traceback)."""
    application = build_application(settings, request=FakeRequest(bot_api), db=db, migrate=False)
    finished: list[str] = []

    async def long_job(context) -> None:
        await asyncio.sleep(0.3)
        finished.append("long")

    async def frequent_job(context) -> None:
        await asyncio.sleep(0.045)
        finished.append("frequent")

    await application.initialize()
    await application.post_init(application)
    await application.start()
    application.job_queue.run_once(long_job, when=0, name="long")
    application.job_queue.run_repeating(frequent_job, interval=timedelta(seconds=0.05), first=0, name="often")
    await asyncio.sleep(0.1)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        await stop(application)
    assert "long" in finished
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], [record.getMessage() for record in errors]
    assert not application.running
