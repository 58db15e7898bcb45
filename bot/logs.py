"""Logging for the bot and its command line: one handler on stderr, text or JSON lines (LOG_FORMAT=json,
for hosting platforms that parse logs), and the libraries' per-call chatter turned down.

What is turned down, and why:
- APScheduler logs "Running job …" and "… executed successfully" at INFO for every run: with the outbox
  checked every second that is ~170,000 lines a day. Our jobs log a line themselves when they did something.
- Alembic logs its context and every step at INFO; the CLI prints its own one-line result instead.
- httpx logs every Bot API request at INFO, with the bot token in the URL.
At LOG_LEVEL=DEBUG everything is shown.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_BELOW_DEBUG = ("apscheduler", "alembic", "httpx")


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Replace the root handlers with one stderr handler in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        # One object per line: time, level, logger, message, plus the traceback as `exc_info` if any.
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in QUIET_BELOW_DEBUG:
        logging.getLogger(name).setLevel(quiet)
