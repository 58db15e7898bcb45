"""How fast `import-orders` takes a shop's history: the batch path against the row-by-row reference, and the
derived balance of a heavy customer (prints figures).

python bench/loyalty_import.py                     # 67,511 rows, temporary SQLite
python bench/loyalty_import.py --smoke --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

The history: two years of orders from 6,000 shop customers (--smoke: 54), a third of them already in the
bot (named by their Telegram id), one of them a heavy buyer with a tenth of all orders; about 1% of rows
repeat an earlier order and 0.5% refund one (wholly or in part). The batch path imports all of it; the
reference path (`import_orders(row_by_row=True)`, what the import did before) imports the first
`--reference-rows` rows into a second database of its own in the same run, and the ratio compares the two.
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common
from bot.app import order_listeners
from bot.loyalty.csv_import import import_orders
from bot.loyalty.purchases import balance, welcome_customer
from bot.settings import Settings
from storage.customers import TelegramProfile, ensure_customer
from storage.db import Database
from storage.migrate import upgrade_to_head

JOINED_EVERY = 3  # every third shop customer is already in the bot
NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def main(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        path = Path(folder) / "orders.csv"
        reference_path = Path(folder) / "reference.csv"
        customers = shop_customers(args.rows)
        lines = history(args.rows, customers)
        write_csv(path, lines)
        write_csv(reference_path, lines[: args.reference_rows])
        batch = await measure(args.postgres, path, customers, "batch path", row_by_row=False)
        reference = await measure(
            args.postgres, reference_path, customers, "row-by-row reference", row_by_row=True
        )
    print(f"batch path / row-by-row reference: {common.ratio(batch, reference)} the rows per second")


def shop_customers(rows: int) -> int:
    """About 11 orders per shop customer, 6,000 of them at full size."""
    return max(30, min(6000, rows // 11))


def history(rows: int, customers: int) -> list[str]:
    rng = random.Random(14)  # noqa: S311  (a repeatable history, not a secret)
    start = NOW - timedelta(days=730)
    lines: list[str] = []
    amounts: list[int] = []
    for n in range(rows):
        roll = rng.random()
        if lines and roll < 0.01:  # a repeated row (the shop exported it twice)
            lines.append(lines[rng.randrange(len(lines))])
            continue
        if lines and roll < 0.015:  # a refund of an earlier order, whole or in part
            earlier = rng.randrange(len(amounts))
            part = amounts[earlier] if rng.random() < 0.5 else max(1, amounts[earlier] // 3)
            lines.append(
                f"o{earlier},{customer_ref(0 if earlier % 10 == 0 else earlier)},{part},2026-02-01,refunded"
            )
            amounts.append(0)
            continue
        shop_customer = 0 if n % 10 == 0 else rng.randrange(1, customers)
        moment = start + timedelta(minutes=n * 730 * 24 * 60 // rows, seconds=rng.randrange(60))
        amount = rng.randrange(5, 400)
        amounts.append(amount)
        lines.append(f"o{n},{customer_ref(shop_customer)},{amount}.50,{moment.isoformat()}")
    return lines


def customer_ref(shop_customer: int) -> str:
    if shop_customer % JOINED_EVERY:
        return f"shop-{shop_customer}"  # not in the bot yet: kept for linking
    return str(1_000_000 + shop_customer)  # a Telegram id of a member


def write_csv(path: Path, lines: list[str]) -> None:
    path.write_text("order_id,customer,amount,created_at,status\n" + "\n".join(lines) + "\n")


async def measure(postgres: str | None, path: Path, customers: int, label: str, *, row_by_row: bool) -> float:
    async with common.scratch_database(postgres) as url:
        db = Database(url)
        try:
            settings = Settings(_env_file=None, database_url=url, loyalty_expiry_days=365)
            await upgrade_to_head(db)
            async with db.session() as session:
                for shop_customer in range(0, customers, JOINED_EVERY):
                    customer, _ = await ensure_customer(
                        session, profile=TelegramProfile(1_000_000 + shop_customer), locale="en"
                    )
                    await welcome_customer(session, settings=settings, now=NOW, customer=customer)
                    if shop_customer == 0:
                        heavy = customer.id
            with common.timed() as elapsed:
                report = await import_orders(
                    db,
                    settings,
                    path,
                    listeners=order_listeners(),
                    now=NOW,
                    progress=None,
                    row_by_row=row_by_row,
                )
            rows = report.imported + report.duplicates + report.reversed + len(report.errors)
            rate = rows / elapsed.seconds
            print(
                f"{label}: {rows:,} rows in {elapsed.seconds:.2f}s = {rate:,.0f} rows/s "
                f"({report.imported:,} orders, {report.unlinked:,} kept for linking, {report.duplicates:,} "
                f"repeated, {report.reversed:,} refunds, {len(report.errors)} bad)"
            )
            with common.timed() as elapsed:
                async with db.read_session() as session:
                    current = await balance(session, settings=settings, customer_id=heavy, now=NOW)
            print(f"  balance of the heavy buyer: {elapsed.ms:.1f} ms ({current.available:,} available)")
            return rate
        finally:
            await db.dispose()


if __name__ == "__main__":
    parser = common.BenchParser(__doc__)
    parser.add_size("--rows", 67_511, 600, "CSV rows of the history (the batch path commits every 1,000)")
    parser.add_size("--reference-rows", 2_000, 300, "the first rows, imported one by one as the reference")
    common.run(main, parser.parse_args())
