"""Print how fast the CSV import and the derived balance are on SQLite: `python bench/loyalty_import.py`."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.loyalty.csv_import import import_orders
from bot.loyalty.purchases import balance
from bot.settings import Settings
from storage.customers import TelegramProfile, ensure_customer
from storage.db import Database
from storage.migrate import upgrade_to_head

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 5000


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        settings = Settings(_env_file=None, database_url=url, loyalty_expiry_days=365)
        db = Database(url)
        await upgrade_to_head(db)
        async with db.session() as session:
            customer, _ = await ensure_customer(session, profile=TelegramProfile(1), locale="en")
        path = Path(folder) / "orders.csv"
        lines = [
            f"o{n},{1 if n % 2 else f'cust-{n}'},{n % 90 + 1}.50,2026-01-{n % 28 + 1:02d}"
            for n in range(ROWS)
        ]
        path.write_text("order_id,customer,amount,created_at\n" + "\n".join(lines) + "\n")
        now = datetime(2026, 3, 1, tzinfo=UTC)
        started = time.perf_counter()
        report = await import_orders(db, settings, path, now=now, progress=None)
        elapsed = time.perf_counter() - started
        print(f"import: {report.imported} rows in {elapsed:.2f}s = {report.imported / elapsed:.0f} rows/s")
        started = time.perf_counter()
        async with db.read_session() as session:
            current = await balance(session, settings=settings, customer_id=customer.id, now=now)
        print(
            f"balance of a customer with {ROWS // 2} ledger entries: "
            f"{1000 * (time.perf_counter() - started):.1f} ms "
            f"({current.available} available)"
        )
        await db.dispose()


asyncio.run(main())
