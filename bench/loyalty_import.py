"""How fast the loyalty CSV import and the derived balance are (prints figures).

python bench/loyalty_import.py                     # 5,000 rows, temporary SQLite
python bench/loyalty_import.py --smoke --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common
from bot.app import order_listeners
from bot.loyalty.csv_import import import_orders
from bot.loyalty.purchases import balance
from bot.settings import Settings
from storage.customers import TelegramProfile, ensure_customer
from storage.db import Database
from storage.migrate import upgrade_to_head


async def main(args) -> None:
    async with common.scratch_database(args.postgres) as url:
        db = Database(url)
        try:
            with tempfile.TemporaryDirectory(prefix="bench-") as folder:
                await measure(db, url, Path(folder) / "orders.csv", args.rows)
        finally:
            await db.dispose()


def write_csv(path: Path, rows: int) -> None:
    """Half the orders belong to customer 1, the other half to customers the shop has not linked yet."""
    lines = [
        f"o{n},{1 if n % 2 else f'cust-{n}'},{n % 90 + 1}.50,2026-01-{n % 28 + 1:02d}" for n in range(rows)
    ]
    path.write_text("order_id,customer,amount,created_at\n" + "\n".join(lines) + "\n")


async def measure(db: Database, url: str, path: Path, rows: int) -> None:
    settings = Settings(_env_file=None, database_url=url, loyalty_expiry_days=365)
    await upgrade_to_head(db)
    async with db.session() as session:
        customer, _ = await ensure_customer(session, profile=TelegramProfile(1), locale="en")
    write_csv(path, rows)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with common.timed() as elapsed:
        report = await import_orders(db, settings, path, listeners=order_listeners(), now=now, progress=None)
    if report.imported != rows:
        raise RuntimeError(f"imported {report.imported} of {rows} rows")
    print(
        f"import: {report.imported} rows in {elapsed.seconds:.2f}s = "
        f"{report.imported / elapsed.seconds:.0f} rows/s"
    )
    with common.timed() as elapsed:
        async with db.read_session() as session:
            current = await balance(session, settings=settings, customer_id=customer.id, now=now)
    print(
        f"balance of a customer with {rows // 2} ledger entries: {elapsed.ms:.1f} ms "
        f"({current.available} available)"
    )


if __name__ == "__main__":
    parser = common.BenchParser(__doc__)
    parser.add_size("--rows", 5000, 250, "CSV rows (the import commits every 200)")
    common.run(main, parser.parse_args())
