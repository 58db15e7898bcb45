"""The batch path of `import-orders` gives what importing row by row gives: orders, ledger, rollups,
referrals, win-back messages, /stats and the report, on a history with repeats, refunds, bad rows, tiers, a
referee, a win-back in progress and customers who join between two imports."""

from __future__ import annotations

import io
import random
import shutil
import sys
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
from sqlmodel import select

from bot.analytics.views import stats_report
from bot.app import order_listeners
from bot.cli import main
from bot.loyalty import csv_import
from bot.loyalty.csv_import import import_orders
from storage import referrals
from storage.db import Database
from storage.models import Campaign, Order, OutboxMessage, OutboxState, PointsEntry, Referral
from tests.analytics_support import rollup_snapshot
from tests.conftest import _truncate_all
from tests.loyalty_helpers import NOW, make_customer

HEADER = "order_id,customer,amount,created_at,status,refund_id\n"


def history(seed: int, refs: list[str], *, first: int, rows: int, extra: tuple[str, ...] = ()) -> str:
    """Rows over the 15 months before NOW in several spellings of each customer, with repeats, refunds
    (whole and partial, of this file's orders and the earlier file's), new refunded orders and bad rows."""
    rng = random.Random(seed)
    lines: list[str] = []
    start = NOW - timedelta(days=450)
    for n in range(first, first + rows):
        roll = rng.random()
        ref = rng.choice(refs)
        moment = start + timedelta(hours=rng.randrange(450 * 24))
        when = moment.isoformat() if rng.random() < 0.7 else moment.date().isoformat()
        if roll < 0.06 and lines:
            lines.append(rng.choice(lines))  # exported twice
        elif roll < 0.12:
            earlier = rng.randrange(max(1, n))
            lines.append(
                f"h{earlier},{ref},{rng.randrange(1, 800)},{when},refunded,r{n % 3}"
            )  # maybe partial
        elif roll < 0.15:
            lines.append(f"h{rng.randrange(max(1, n))},{ref},1,{when},cancelled,")
        elif roll < 0.18:
            lines.append(f"h{n},{ref},{rng.randrange(1, 500)},{when},refunded,")  # refunded before import
        elif roll < 0.2:
            lines.append(f"h{n},{ref},{rng.choice(['abc', '-3', '0'])},{when},")
        elif roll < 0.21:
            lines.append(f"h{n},{ref},12,2031-01-01,")
        else:
            lines.append(f"h{n},{ref},{rng.randrange(5, 900)}.{rng.randrange(100):02d},{when},")
    return HEADER + "\n".join([*lines[: rows // 2], *extra, *lines[rows // 2 :]]) + "\n"


async def setup(db, settings) -> dict[str, int]:
    """Members (one a referee, one in a win-back), named by code, phone, Telegram id; returns their ids."""
    a = await make_customer(db, settings, 501)
    b = await make_customer(db, settings, 502, phone="+15550000002")
    referee = await make_customer(db, settings, 503)
    lapsed = await make_customer(db, settings, 504)
    async with db.session() as session:
        await referrals.attribute(
            session, referrer_id=a.id, referee_id=referee.id, now=NOW - timedelta(days=200), min_order_minor=0
        )
        sent_long_ago = (OutboxState.SENT, "w:1", NOW - timedelta(days=300))
        for state, occurrence, sent in (sent_long_ago, (OutboxState.PENDING, "w:2", None)):
            session.add(
                OutboxMessage(
                    customer_id=lapsed.id,
                    campaign=Campaign.WINBACK,
                    occurrence=occurrence,
                    state=state,
                    due_at=NOW - timedelta(days=301),
                    sent_at=sent,
                )
            )
    return {"a": a.id, "b": b.id, "referee": referee.id, "lapsed": lapsed.id, "a_code": a.member_code}


async def snapshot(db, settings, code: str) -> dict:
    """Everything an import writes, with surrogate order ids replaced by the shop's order ids (and the
    random member code by a name)."""
    async with db.read_session() as session:
        orders = (await session.exec(select(Order))).all()
        external = {order.id: order.external_id for order in orders}
        ledger = (await session.exec(select(PointsEntry))).all()
        refs = (await session.exec(select(Referral))).all()
        outbox = (await session.exec(select(OutboxMessage))).all()
        stats = {
            period: (await stats_report(session, settings=settings, now=NOW, period_text=period)).as_json()
            for period in ("90d", "2025-06-01..2026-03-15")
        }

    def key(text: str) -> str:  # order:<id>, reverse:<id>[:<refund id>]
        kind, _, rest = text.partition(":")
        order_id, _, refund = rest.partition(":")
        if kind not in ("order", "reverse"):
            return text
        return ":".join([kind, external[int(order_id)], *([refund] if refund else [])])

    return {
        "orders": sorted(
            (
                o.external_id,
                o.source,
                o.customer_id,
                (o.customer_ref or "").replace(code, "CODE"),
                o.amount_minor,
                o.currency,
                o.status,
                o.ordered_at,
                o.refunded_at,
            )
            for o in orders
        ),
        "ledger": sorted(
            (
                e.customer_id,
                e.delta,
                e.kind,
                key(e.idempotency_key),
                external.get(e.order_id),
                e.note,
                e.available_at,
            )
            for e in ledger
        ),
        "referrals": sorted((r.referee_id, r.status, external.get(r.order_id), r.qualifies_at) for r in refs),
        "outbox": sorted((m.occurrence, m.state, m.outcome, m.converted_at) for m in outbox),
        "rollups": await rollup_snapshot(db),
        "stats": stats,
    }


async def import_history(db, settings, tmp_path, *, row_by_row: bool) -> tuple[dict, list]:
    ids = await setup(db, settings)
    refs = [ids["a_code"], ids["a_code"].lower(), "+1 555 000 0002", "0015550000002", "504", "504"]
    refs += ["shop-77", "+15550000009", "15550000009"]  # not members yet
    day = lambda days_ago: (NOW - timedelta(days=days_ago)).isoformat()  # noqa: E731
    # The referee's first purchase after joining, then more; the lapsed customer buys after a win-back.
    extra = (f"x1,503,40,{day(150)},,", f"x2,503,70,{day(100)},,", f"x3,504,25,{day(295)},,")
    reports = []
    first = tmp_path / "first.csv"
    first.write_text(history(1, refs, first=0, rows=110, extra=extra))
    reports.append(
        await import_orders(
            db, settings, first, listeners=order_listeners(), now=NOW, progress=None, row_by_row=row_by_row
        )
    )
    await make_customer(db, settings, 505, phone="+15550000009")  # joins: their orders are linked
    second = tmp_path / "second.csv"
    extra = (f"x0,503,55,{day(250)},,", f"x4,503,30,{day(20)},,", f"x1,503,40,{day(150)},refunded,")
    second.write_text(history(2, refs, first=80, rows=110, extra=extra))  # also refunds the first file's
    reports.append(
        await import_orders(
            db, settings, second, listeners=order_listeners(), now=NOW, progress=None, row_by_row=row_by_row
        )
    )
    reports.append(
        await import_orders(
            db, settings, second, listeners=order_listeners(), now=NOW, progress=None, row_by_row=row_by_row
        )
    )
    return await snapshot(db, settings, ids["a_code"]), reports


@pytest.mark.parametrize("chunk", [7, 1000])
async def test_the_batch_path_writes_what_row_by_row_writes(
    db, db_url, settings, tmp_path, request, monkeypatch, chunk
):
    settings.shop_timezone = "Asia/Riyadh"
    from storage.rollups import set_rollup_timezone  # noqa: PLC0415  (the rollups' zone follows the setting)

    set_rollup_timezone(settings.timezone)
    request.addfinalizer(lambda: set_rollup_timezone(UTC))
    reference, reference_reports = await import_history(db, settings, tmp_path, row_by_row=True)
    if db.is_sqlite:
        fresh_path = tmp_path / "batch.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), fresh_path)
        other = Database(f"sqlite+aiosqlite:///{fresh_path}")
    else:
        await _truncate_all(db)
        other = db
    monkeypatch.setattr(csv_import, "BATCH_ROWS", chunk)  # many chunks and segments, or one
    try:
        batch, batch_reports = await import_history(other, settings, tmp_path, row_by_row=False)
    finally:
        if other is not db:
            await other.dispose()
    assert batch_reports == reference_reports
    assert reference_reports[0].imported > 70 and reference_reports[0].errors
    assert reference_reports[1].reversed and reference_reports[2].imported == 0
    for part in ("orders", "ledger", "referrals", "outbox", "rollups", "stats"):
        assert batch[part] == reference[part], part
    assert {"earn", "reverse", "welcome"} <= {entry[2] for entry in reference["ledger"]}
    assert any(status == "pending" for _, status, _, _ in reference["referrals"])
    assert any(converted for _, _, _, converted in reference["outbox"])
    assert sum(len(rows) for rows in reference["rollups"].values()) > 50


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_the_cli_draws_its_progress_bar_only_on_a_terminal(tmp_path, monkeypatch, capsys, terminal):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MERCHANT_IDS", "")
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "".join(f"t{n},shop-{n % 9},3,2026-03-01,,\n" for n in range(2500)))
    stderr = Terminal()
    if terminal:
        monkeypatch.setattr(sys, "stderr", stderr)
    assert main(["import-orders", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "imported 2500 orders (2500 kept" in out
    drawn = stderr.getvalue() if terminal else err
    assert ("100% 2500/2500" in drawn) is terminal and ("40% 1000/2500" in drawn) is terminal


async def test_a_listener_without_an_audience_still_hears_every_order(db, settings, tmp_path):
    member = await make_customer(db, settings, 601)
    heard: list[tuple[str, int | None]] = []

    async def record(session, outcome):
        heard.append((outcome.order.external_id, outcome.customer_id))

    usual = order_listeners()
    listeners = replace(usual, on_order=(*usual.on_order, record))  # its audience not given
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "n1,601,10,2026-03-01,,\nn2,shop-1,20,2026-03-02,,\nn1,601,10,2026-03-01,,\n")
    report = await import_orders(db, settings, path, listeners=listeners, now=NOW, progress=None)
    assert (report.imported, report.duplicates) == (2, 1)
    assert heard == [("n1", member.id), ("n2", None)]
