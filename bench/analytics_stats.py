"""Time /stats on a big shop and, in the same run, pandas computing the same figures from the raw rows.

    pip install -e ".[bench]"
    python bench/analytics_stats.py                       # 100k customers, 1M orders, temporary SQLite
    python bench/analytics_stats.py --customers 10000 --orders 100000 \
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres   # in a scratch database
    python bench/analytics_stats.py --smoke                # a few seconds

Prints: data generation, the rollup rebuild, the per-order cost of keeping rollups up to date, /stats for
three periods (figures for the period and the one before, as the bot computes them), pandas on the same
periods (raw rows already in memory; loading them is timed separately), and checks both agree.
"""

from __future__ import annotations

import random
import sys
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
from sqlalchemy import text

from bench import _common as common
from bot.analytics import metrics
from bot.analytics.periods import Period
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Customer, Order
from storage.orders import record_order
from storage.rollups import rebuild_rollups

CHURN_DAYS = 90
LAST_DAY = date(2026, 3, 31)
SPAN_DAYS = 730
BATCH = 20_000
KEYS = ("customers_total", "new_customers", "active_start", "active_end", "lost_customers", "buyers",
        "repeat_buyers", "orders", "revenue")  # fmt: skip


def generate(customers: int, orders: int, seed: int = 7):
    """Customers join over two years and order at their own pace until they drift away."""
    rng = random.Random(seed)  # noqa: S311  (reproducible synthetic data, not security)
    first = LAST_DAY - timedelta(days=SPAN_DAYS)
    start = [rng.randrange(SPAN_DAYS) for _ in range(customers)]
    weights = [rng.paretovariate(1.5) for _ in range(customers)]
    picks = rng.choices(range(customers), weights=weights, k=orders)
    base = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    for n, who in enumerate(picks):
        day = start[who] + int(rng.expovariate(1 / 150))
        if day >= SPAN_DAYS:  # past the end of the data: some other day of their life instead
            day = rng.randrange(start[who], SPAN_DAYS)
        moment = base + timedelta(days=day, seconds=rng.randrange(86400))
        status = "refunded" if rng.random() < 0.03 else "paid"
        yield {"external_id": f"b{n}", "customer_id": who + 1, "amount_minor": rng.randrange(500, 50000),
               "status": status, "ordered_at": moment}  # fmt: skip


async def fill(db: Database, customers: int, orders: int) -> None:
    now = datetime.now(UTC)
    async with db.session() as session:
        rows = [{"id": i + 1, "telegram_id": 10**9 + i, "locale": "en", "marketing_opt_in": True,
                 "reachable": True, "created_at": now} for i in range(customers)]  # fmt: skip
        for i in range(0, customers, BATCH):
            await session.execute(Customer.__table__.insert(), rows[i : i + BATCH])
        batch = []
        for row in generate(customers, orders):
            batch.append({**row, "source": "bench", "currency": "USD", "created_at": now})
            if len(batch) == BATCH:
                await session.execute(Order.__table__.insert(), batch)
                batch = []
        if batch:
            await session.execute(Order.__table__.insert(), batch)
        if not db.is_sqlite:
            await session.execute(text("SELECT setval('customers_id_seq', (SELECT max(id) FROM customers))"))


def pandas_figures(frame: pd.DataFrame, period: Period, window: int) -> dict:
    """The same definitions as bot/analytics/metrics.py, from raw order rows."""
    paid = frame[(frame.status == "paid") & frame.customer_id.notna()]
    day = paid.ordered_at.dt.tz_convert("UTC").values.astype("datetime64[D]").astype(np.int64)
    day = day + date(1970, 1, 1).toordinal()
    customer = paid.customer_id.to_numpy()
    amount = paid.amount_minor.to_numpy()
    first = pd.Series(day).groupby(customer).min()

    def one(s: int, e: int) -> dict:
        def active(t: int) -> np.ndarray:
            return np.unique(customer[(day >= t - window) & (day < t)])

        start, end = active(s), active(e)
        inside = (day >= s) & (day < e)
        counts = pd.Series(customer[inside]).value_counts()
        return {
            "customers_total": int((first < e).sum()),
            "new_customers": int(((first >= s) & (first < e)).sum()),
            "active_start": len(start),
            "active_end": len(end),
            "lost_customers": len(np.setdiff1d(start, end, assume_unique=True)),
            "buyers": len(counts),
            "repeat_buyers": int((counts > 1).sum()),
            "orders": int(inside.sum()),
            "revenue": int(amount[inside].sum()) / 100,
        }

    before = period.previous()
    return {"current": one(period.start, period.end), "previous": one(before.start, before.end)}


async def main(args) -> None:
    async with common.scratch_database(args.postgres) as url:
        db = Database(url)
        try:
            if not await measure(db, args):
                sys.exit(1)
        finally:
            await db.dispose()


async def measure(db: Database, args) -> bool:
    """Prints the figures; False if /stats and pandas disagree."""
    await upgrade_to_head(db)
    with common.timed() as elapsed:
        await fill(db, args.customers, args.orders)
    print(f"generated {args.customers:,} customers, {args.orders:,} orders in {elapsed.seconds:.1f}s")
    with common.timed() as elapsed:
        async with db.session() as session:
            await rebuild_rollups(session)
    print(f"rebuild-rollups: {elapsed.seconds:.1f}s")
    if not db.is_sqlite:
        # After a bulk load the planner has no statistics and the visibility map is empty (no
        # index-only scans); autovacuum would catch up within minutes on a live database.
        async with db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
    timings = {}
    for linked in (False, True):  # an order of nobody known touches no rollup: the baseline
        with common.timed() as elapsed:
            for n in range(args.live_orders):
                async with db.session() as session:
                    await record_order(
                        session,
                        external_id=f"live{linked}{n}",
                        amount_minor=1000,
                        currency="USD",
                        ordered_at=datetime(2026, 4, 1, 12, tzinfo=UTC),
                        customer_id=n * 7 % args.customers + 1 if linked else None,
                    )
        timings[linked] = elapsed.ms / args.live_orders
    print(
        f"recording an order: {timings[True]:.1f} ms with its rollups, {timings[False]:.1f} ms without "
        f"({common.ratio(timings[True], timings[False])} the baseline)"
    )

    with common.timed() as elapsed:
        async with db.read_session() as session:
            connection = await session.connection()
            result = await connection.execute(
                text(
                    "SELECT customer_id, ordered_at, amount_minor, status FROM orders WHERE source = 'bench'"
                )
            )
            frame = pd.DataFrame(
                result.all(), columns=["customer_id", "ordered_at", "amount_minor", "status"]
            )
        frame["ordered_at"] = pd.to_datetime(frame.ordered_at, utc=True)
    print(f"pandas: loading the raw rows {elapsed.seconds:.2f}s")

    end = LAST_DAY.toordinal() + 1
    periods = {"30d": Period(end - 30, end), "90d": Period(end - 90, end), "2026-01": Period(
        date(2026, 1, 1).toordinal(), date(2026, 2, 1).toordinal())}  # fmt: skip
    agree = True
    for name, period in periods.items():
        with common.timed() as ours:
            async with db.read_session() as session:
                report = await metrics.build_report(
                    session, period=period, churn_days=CHURN_DAYS, zone=UTC, exponent=2
                )
        with common.timed() as theirs:
            figures = pandas_figures(frame, period, CHURN_DAYS)
        same = all(
            round(report.current[k], 2) == round(figures["current"][k], 2)
            and round(report.previous[k], 2) == round(figures["previous"][k], 2)
            for k in KEYS
        )
        agree &= same
        verdict = "same figures" if same else "FIGURES DIFFER"
        print(
            f"/stats {name:>7}: {ours.ms:7.1f} ms   pandas: {theirs.ms:7.1f} ms "
            f"(/stats {common.ratio(ours.seconds, theirs.seconds)} pandas)   {verdict}   "
            f"(orders {report.current['orders']:,}, active at end {report.current['active_end']:,})"
        )
    return agree


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # sqlmodel nudges bulk inserts to exec()
    parser = common.BenchParser(__doc__)
    parser.add_size("--customers", 100_000, 500, "customers")
    parser.add_size("--orders", 1_000_000, 5_000, "orders")
    parser.add_size("--live-orders", 200, 20, "orders recorded one by one (with and without rollups)")
    common.run(main, parser.parse_args())
