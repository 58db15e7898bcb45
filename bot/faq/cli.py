"""The `faq-import` subcommand: load an FAQ file into the database, replacing the texts of the entries it
names (same code and language) and leaving every other entry as merchants left it."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.clock import Clock
from bot.faq.library import load_file
from bot.settings import Settings
from storage import faq as store
from storage.db import Database
from storage.migrate import upgrade_to_head

EXIT_BAD_FILE = 3


async def import_faq_command(settings: Settings, file: str | None) -> int:
    path = Path(file) if file else settings.faq_file
    try:
        entries = load_file(path)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_FILE
    db = Database(settings.database_url)
    try:
        await upgrade_to_head(db)
        now = Clock().now()
        async with db.session() as session:
            # Marks the store seeded too, so a first start after an import does not load the sample file.
            await store.seed_once(session, entries=[], source=path.name, now=now)
            for data in entries:
                await store.upsert_entry(session, data=data, now=now)
    finally:
        await db.dispose()
    print(f"{len(entries)} FAQ entries imported from {path}")
    return 0
