"""`import-orders`: good rows kept, bad rows reported by line, idempotent re-runs, refunds, linking."""

from __future__ import annotations

import io

import pytest

from bot.app import order_listeners
from bot.cli import main
from bot.loyalty import csv_import
from bot.loyalty.csv_import import CsvFormatError, import_orders
from storage.orders import get_order
from tests.loyalty_helpers import NOW, balance, make_customer

GOOD_AND_BAD = """order_id,customer,amount,created_at,status
1001,{code},120.00,2026-03-01T10:00:00+03:00,
1002,+15557770000,15,2026-03-02,paid
1003,{code},-5,2026-03-02,
1004,{code},abc,2026-03-02,
1005,{code},10,yesterday,
1006,,10,2026-03-02,
1007,{code},10,2026-03-02,lost
1008,{code},99999999,2026-03-02,
1009,{code},10,2030-01-01,
,{code},10,2026-03-02,
1011,shop-cust-42,33.30,2026-03-03 09:30,
"""


def write(tmp_path, text, name="orders.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def test_import_keeps_good_rows_and_reports_bad_ones_with_line_numbers(db, settings, tmp_path):
    customer = await make_customer(db, settings, 301)
    path = write(tmp_path, GOOD_AND_BAD.format(code=customer.member_code))
    report = await import_orders(db, settings, path, listeners=order_listeners(), now=NOW, progress=None)
    assert (report.imported, report.unlinked, report.points) == (3, 2, 120)
    assert [line for line, _ in report.errors] == [4, 5, 6, 7, 8, 9, 10, 11]
    reasons = dict(report.errors)
    assert "negative" in reasons[4] or "not a number" in reasons[4]
    assert "not a number" in reasons[5] and "ISO" in reasons[6] and "customer" in reasons[7]
    assert "status" in reasons[8] and "LOYALTY_MAX_ORDER_AMOUNT" in reasons[9] and "future" in reasons[10]
    assert "order_id" in reasons[11]
    assert (await balance(db, settings, customer.id)).available == 170  # return window already over
    again = await import_orders(db, settings, path, listeners=order_listeners(), now=NOW, progress=None)
    assert (again.imported, again.duplicates, again.points) == (0, 3, 0)
    async with db.read_session() as session:
        kept = await get_order(session, external_id="1011")
    assert kept.customer_ref == "shop-cust-42" and kept.amount_minor == 3330


async def test_refund_rows_reverse_points_and_unknown_customers_are_linked_later(db, settings, tmp_path):
    customer = await make_customer(db, settings, 302)
    code = customer.member_code
    first = write(
        tmp_path, f"order_id,customer,amount,created_at\n9,{code},50,2026-03-10\n8,303,20,2026-03-10\n"
    )
    await import_orders(db, settings, first, listeners=order_listeners(), now=NOW, progress=None)
    refund = write(
        tmp_path,
        f"order_id,customer,amount,created_at,status\n9,{code},50,2026-03-10,refunded\n",
        "refund.csv",
    )
    report = await import_orders(db, settings, refund, listeners=order_listeners(), now=NOW, progress=None)
    assert report.reversed == 1
    current = await balance(db, settings, customer.id)
    assert (current.available, current.pending) == (50, 0)
    newcomer = await make_customer(db, settings, 303)
    assert (await balance(db, settings, newcomer.id)).pending == 20


async def test_malformed_files_are_refused_whole(db, settings, tmp_path):
    with pytest.raises(CsvFormatError, match="amount"):
        await import_orders(
            db,
            settings,
            write(tmp_path, "order_id,customer,created_at\n1,2,3\n"),
            listeners=order_listeners(),
            now=NOW,
        )
    with pytest.raises(CsvFormatError):
        await import_orders(db, settings, tmp_path / "missing.csv", listeners=order_listeners(), now=NOW)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CsvFormatError):
        await import_orders(db, settings, binary, listeners=order_listeners(), now=NOW)


async def test_large_files_show_a_progress_bar(db, settings, tmp_path, monkeypatch):
    # "Large" and the batch size scaled down tenfold (1,200 rows cost seconds): the same six batches.
    monkeypatch.setattr(csv_import, "PROGRESS_MIN_ROWS", csv_import.PROGRESS_MIN_ROWS // 10)
    monkeypatch.setattr(csv_import, "BATCH_ROWS", csv_import.BATCH_ROWS // 10)
    rows = "".join(f"p{n},cust-{n % 7},1,2026-03-01\n" for n in range(120))
    path = write(tmp_path, "order_id,customer,amount,created_at\n" + rows)
    stream = io.StringIO()
    report = await import_orders(db, settings, path, listeners=order_listeners(), now=NOW, progress=stream)
    assert report.imported == 120 and report.unlinked == 120
    assert "100% 120/120" in stream.getvalue() and "[####################]" in stream.getvalue()
    assert stream.getvalue().count("\r") == -(-120 // csv_import.BATCH_ROWS)  # one step per batch
    small = io.StringIO()
    few = "".join(f"s{n},cust-1,1,2026-03-01\n" for n in range(csv_import.PROGRESS_MIN_ROWS - 1))
    await import_orders(
        db,
        settings,
        write(tmp_path, "order_id,customer,amount,created_at\n" + few),
        listeners=order_listeners(),
        now=NOW,
        progress=small,
    )
    assert small.getvalue() == ""  # below the threshold: no bar


def test_cli_reports_bad_rows_and_summary(tmp_path, monkeypatch, capsys):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MERCHANT_IDS", "")
    path = write(
        tmp_path, "order_id,customer,amount,created_at\n1,+15550009999,12,2026-03-01\n2,x,-1,2026-03-01\n"
    )
    assert main(["import-orders", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "imported 1 orders (1 kept" in out and "1 bad rows skipped" in out
    assert "line 3:" in err
    assert main(["import-orders", str(tmp_path / "nope.csv")]) == 3


async def test_partial_refund_rows_take_back_their_share_once(db, settings, tmp_path):
    customer = await make_customer(db, settings, 304)
    code = customer.member_code
    await import_orders(
        db,
        settings,
        write(tmp_path, f"order_id,customer,amount,created_at\n70,{code},200,2026-03-10\n"),
        listeners=order_listeners(),
        now=NOW,
    )
    header = "order_id,customer,amount,created_at,status,refund_id\n"
    refunds = write(
        tmp_path,
        header + f"70,{code},5,2026-03-11,refunded,r1\n70,{code},15,2026-03-12,refunded,r2\n",
        "refunds.csv",
    )
    report = await import_orders(db, settings, refunds, listeners=order_listeners(), now=NOW, progress=None)
    assert report.reversed == 2
    assert (await balance(db, settings, customer.id)).pending == 180, "5 + 15 of 200 points taken back"
    again = await import_orders(db, settings, refunds, listeners=order_listeners(), now=NOW, progress=None)
    assert (again.reversed, again.duplicates) == (0, 2), "re-running the file changes nothing"
    async with db.read_session() as session:
        assert (await get_order(session, external_id="70")).status == "paid"
    whole = write(tmp_path, header + f"70,{code},200,2026-03-13,refunded,\n", "whole.csv")
    assert (
        await import_orders(db, settings, whole, listeners=order_listeners(), now=NOW, progress=None)
    ).reversed == 1
    assert (await balance(db, settings, customer.id)).pending == 0
