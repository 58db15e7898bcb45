"""`python -m bot stats [--period P] [--json]` and `python -m bot rebuild-rollups`."""

from __future__ import annotations

import json
import sys
import time

from bot.analytics.periods import BadPeriod
from bot.analytics.render import plain, render_stats
from bot.analytics.views import stats_report
from bot.clock import Clock
from bot.formatting import template_globals
from bot.i18n import Templates
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.rollups import rebuild_rollups

EXIT_BAD_PERIOD = 3


async def stats_command(settings: Settings, period: str | None, *, as_json: bool) -> int:
    db = Database(settings.database_url)
    try:
        await upgrade_to_head(db)
        async with db.read_session() as session:
            report = await stats_report(session, settings=settings, now=Clock().now(), period_text=period)
    except BadPeriod:
        print(
            f"error: bad period {period!r}; use 7d, 30d, 90d, YYYY-MM or YYYY-MM-DD..YYYY-MM-DD",
            file=sys.stderr,
        )
        return EXIT_BAD_PERIOD
    finally:
        await db.dispose()
    if as_json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        return 0
    templates = Templates(
        settings.templates_dir,
        default_locale=settings.default_locale,
        globals_=template_globals(settings),
    )
    html = render_stats(
        templates,
        settings.default_locale,
        report,
        exponent=settings.currency_exponent,
        churn_days=settings.churn_days,
    )
    print(plain(html))
    return 0


async def rebuild_command(settings: Settings) -> int:
    db = Database(settings.database_url)
    started = time.perf_counter()
    try:
        await upgrade_to_head(db)
        async with db.session() as session:
            customers = await rebuild_rollups(session)
    finally:
        await db.dispose()
    print(f"rebuilt analytics rollups for {customers} customers in {time.perf_counter() - started:.1f}s")
    return 0
