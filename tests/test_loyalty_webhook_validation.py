"""Malformed shop and Telegram webhook bodies over real loopback HTTP: each gets a 4xx with a short reason,
stores nothing, and leaves no traceback or error in the log (a shop retries a 5xx for days)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
from sqlmodel import func, select

from storage.models import Order
from storage.orders import record_order
from tests import test_loyalty_webhooks as hooks
from tests.fakes import updates
from tests.loyalty_helpers import balance

# The fixtures of the webhook tests: shop secrets set, the bot's web app served on loopback.
settings = hooks.settings
base_url = hooks.base_url
PHONE = "+966500000001"

BAD_SHOPIFY_ORDERS = [
    ("amount Infinity", {"total_price": "Infinity"}, 400),
    ("amount inf", {"total_price": "inf"}, 400),
    ("amount -Infinity", {"total_price": "-Infinity"}, 400),
    ("amount NaN", {"total_price": "NaN"}, 400),
    ("amount 1e999999999", {"total_price": "1e999999999"}, 400),
    ("amount 1e-999999999", {"total_price": "1e-999999999"}, 400),
    ("amount huge integer", {"total_price": 10**30}, 400),
    ("amount object", {"total_price": {"amount": "5"}}, 400),
    ("amount true", {"total_price": True}, 400),
    ("amount missing", {"total_price": None}, 400),
    ("amount with fractions of a cent", {"total_price": "1.001"}, 422),
    ("date 0001-01-01", {"created_at": "0001-01-01"}, 400),
    ("date year 1 with offset", {"created_at": "0001-01-01T00:00:00-05:00"}, 400),
    ("date year 9999 with offset", {"created_at": "9999-12-31T23:59:59-01:00"}, 400),
    ("date 1999", {"created_at": "1999-12-31T23:00:00Z"}, 400),
    ("date not a date", {"created_at": "yesterday"}, 400),
    ("date a number", {"created_at": 1773568800}, 400),
    ("date next year", {"created_at": "2027-03-15T10:00:00Z"}, 422),
    ("id null", {"id": None}, 400),
    ("id object", {"id": {"value": 5001}}, 400),
    ("id list", {"id": [5001]}, 400),
    ("id float", {"id": 5001.5}, 400),
    ("id true", {"id": True}, 400),
    ("id blank", {"id": "  "}, 400),
    ("id negative", {"id": -5}, 400),
    ("id above 64 bits", {"id": 2**64}, 400),
    ("id too long", {"id": "x" * 101}, 400),
    ("id with NUL", {"id": "50\x0001"}, 400),
    ("phone with NUL", {"customer": {"id": 88, "phone": "+9665\x00"}}, 400),
    ("customer id object", {"customer": {"id": {"id": 88}, "phone": PHONE}}, 400),
    ("customer a string", {"customer": "Layla"}, 400),
]


def shopify_body(change: dict) -> dict:
    return {**hooks.shopify_order(5001, "42.00", PHONE), **change}


async def orders_stored(harness) -> int:
    async with harness.db.read_session() as session:
        return (await session.exec(select(func.count()).select_from(Order))).one()


def assert_quiet_log(caplog):
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]


async def joined(harness) -> int:
    return await hooks.joined_with_phone(harness, PHONE)


async def test_bad_shopify_orders_are_refused_with_a_reason_and_change_nothing(harness, base_url, caplog):
    cid = await joined(harness)
    settings = harness.app.bot_data["settings"]
    sent = len(harness.texts_to(hooks.LAYLA))
    caplog.set_level(logging.WARNING)
    for case, change, expected in BAD_SHOPIFY_ORDERS:
        status, reason = await hooks.shopify(base_url, shopify_body(change))
        assert status == expected, (case, status, reason)
        assert 0 < len(reason) <= 200 and "Traceback" not in reason, (case, reason)
    assert await orders_stored(harness) == 0
    current = await balance(harness.db, settings, cid, harness.clock.now())
    assert (current.available, current.pending) == (50, 0)  # the welcome bonus only
    assert len(harness.texts_to(hooks.LAYLA)) == sent
    assert_quiet_log(caplog)
    # The same order, well formed, still goes through: nothing above left a trace of it.
    assert await hooks.shopify(base_url, shopify_body({})) == (200, "recorded")


NOT_JSON_OBJECTS = [
    ("JSON Infinity", b'{"id": 5001, "financial_status": "paid", "total_price": Infinity}'),
    ("JSON NaN", b'{"id": 5001, "financial_status": "paid", "total_price": NaN}'),
    ("not JSON", b"id=5001&total_price=42"),
    ("not UTF-8", b'{"id": "\xff\xfe"}'),
    ("a huge integer", b'{"id": ' + b"9" * 5000 + b"}"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
    ("not an object", b"[1, 2]"),
]


async def test_signed_bodies_that_are_not_a_json_object_are_400_not_ignored(harness, base_url, caplog):
    caplog.set_level(logging.WARNING)
    for case, body in NOT_JSON_OBJECTS:
        status, reason = await hooks.shopify(base_url, None, raw=body)
        assert status == 400, (case, reason)
        status, reason = await hooks.woo(base_url, None, raw=body)
        assert status == 400, (case, reason)
    assert await orders_stored(harness) == 0
    assert_quiet_log(caplog)


async def test_the_json_number_1e400_is_infinite_and_refused(harness, base_url):
    body = json.dumps(shopify_body({})).replace('"42.00"', "1e400").encode()
    assert (await hooks.shopify(base_url, None, raw=body))[0] == 400
    assert await orders_stored(harness) == 0


async def test_bad_shopify_refunds_are_refused_and_take_nothing_back(harness, base_url, caplog):
    cid = await joined(harness)
    settings = harness.app.bot_data["settings"]
    assert await hooks.shopify(base_url, shopify_body({})) == (200, "recorded")
    caplog.set_level(logging.WARNING)
    good = hooks.shopify_refund(1, "5.00", order_id=5001)
    for case, refund in [
        ("amount inf", hooks.shopify_refund(1, "inf", order_id=5001)),
        ("amount missing", hooks.shopify_refund(1, None, order_id=5001)),
        ("order id null", hooks.shopify_refund(1, "5.00", order_id=None)),
        ("refund id object", {**good, "id": {"x": 1}}),
        ("transactions not a list", {**good, "transactions": 5}),
        ("transaction not an object", {**good, "transactions": [1]}),
    ]:
        status, reason = await hooks.shopify(base_url, refund, topic="refunds/create")
        assert status == 400, (case, status, reason)
    assert (await balance(harness.db, settings, cid, harness.clock.now())).pending == 42
    assert_quiet_log(caplog)


async def test_bad_woocommerce_orders_are_refused_and_the_ping_still_acknowledged(harness, base_url, caplog):
    cid = await joined(harness)
    settings = harness.app.bot_data["settings"]
    caplog.set_level(logging.WARNING)
    for case, change in [
        ("total Infinity", {"total": "Infinity"}),
        ("total 1e999999999", {"total": "1e999999999"}),
        ("date 0001-01-01", {"date_created_gmt": "0001-01-01T00:00:00"}),
        ("paid date 0001-01-01", {"date_paid_gmt": "0001-01-01T00:00:00"}),
        ("id null", {"id": None}),
        ("id object", {"id": {"id": 740}}),
        ("customer id object", {"customer_id": {"id": 3}}),
        ("refund total -inf", {"refunds": [{"id": 91, "total": "-inf"}]}),
        ("refunds not a list", {"refunds": "none"}),
        ("billing a list", {"billing": [PHONE]}),
    ]:
        status, reason = await hooks.woo(base_url, {**hooks.woo_order(740, "20.00", PHONE), **change})
        assert status == 400, (case, status, reason)
    assert await orders_stored(harness) == 0
    assert (await balance(harness.db, settings, cid, harness.clock.now())).pending == 0
    assert_quiet_log(caplog)
    assert await hooks.woo(base_url, None, raw=b"webhook_id=12") == (200, "ignored")
    assert (await hooks.woo(base_url, None, raw=b"webhook_id=12&x=<script>"))[0] == 400


async def test_an_impossible_date_stored_for_an_unknown_phone_cannot_break_their_join(harness):
    """A row an earlier release stored (year 1, for a phone nobody had yet) is left alone when that customer
    joins: the join works and the order earns nothing (the date arithmetic used to overflow there)."""
    async with harness.db.session() as session:
        await record_order(
            session,
            external_id="ancient",
            amount_minor=4200,
            currency="USD",
            ordered_at=datetime(1, 1, 1, tzinfo=UTC),
            customer_ref=PHONE,
            source="shopify",
        )
    cid = await joined(harness)
    assert not harness.errors
    settings = harness.app.bot_data["settings"]
    current = await balance(harness.db, settings, cid, harness.clock.now())
    assert (current.available, current.pending) == (50, 0)


async def test_an_order_dated_year_1_for_an_unknown_phone_is_refused(harness, base_url):
    status, _ = await hooks.shopify(base_url, shopify_body({"created_at": "0001-01-01"}))
    assert status == 400
    await joined(harness)
    assert not harness.errors and await orders_stored(harness) == 0


async def raw_post(url: str, head: bytes, body: bytes) -> int:
    """An HTTP request written by hand, for header bytes aiohttp's client would not send."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        b"POST "
        + parts.path.encode()
        + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + head
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


async def test_undecodable_signature_and_secret_headers_are_refused_not_a_crash(harness, base_url, caplog):
    caplog.set_level(logging.WARNING)
    body = json.dumps(shopify_body({})).encode()
    assert await raw_post(f"{base_url}/webhooks/shopify", b"X-Shopify-Hmac-SHA256: \xff\xfe\r\n", body) == 401
    head = b"X-Telegram-Bot-Api-Secret-Token: \xff\r\n"
    assert await raw_post(f"{base_url}/telegram", head, b"{}") == 401
    assert_quiet_log(caplog)


NOT_UPDATES = [
    ("no update_id", b"{}"),
    ("update_id a string", b'{"update_id": "1"}'),
    ("update_id true", b'{"update_id": true}'),
    ("update_id negative", b'{"update_id": -1}'),
    ("message a string", b'{"update_id": 1, "message": "hi"}'),
    ("message without a chat", b'{"update_id": 1, "message": {"message_id": 1}}'),
    (
        "message with a bad date",
        b'{"update_id": 1, "message": {"message_id": 1, "date": "x", "chat": {"id": 1, "type": "p"}}}',
    ),
    ("callback without fields", b'{"update_id": 1, "callback_query": {"id": "1"}}'),
    ("not UTF-8", b'{"update_id": 1, "x": "\xff"}'),
    ("a huge integer", b'{"update_id": ' + b"9" * 5000 + b"}"),
    ("deep nesting", b'{"update_id": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
]


async def test_telegram_webhook_with_the_right_secret_but_no_valid_update_is_400(harness, base_url, caplog):
    caplog.set_level(logging.WARNING)
    secret = harness.app.bot_data["webhook_secret"]
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as client:
        for case, body in NOT_UPDATES:
            async with client.post(f"{base_url}/telegram", data=body, headers=headers) as response:
                assert response.status == 400, (case, await response.text())
    assert harness.app.update_queue.empty()
    assert_quiet_log(caplog)


async def test_telegram_webhook_still_takes_a_valid_update(harness, base_url):
    secret = harness.app.bot_data["webhook_secret"]
    body = json.dumps({"update_id": 1, **updates.command(hooks.LAYLA, "/start")}).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{base_url}/telegram", data=body, headers=headers) as response,
    ):
        assert response.status == 200
    assert harness.app.update_queue.qsize() == 1
    harness.app.update_queue.get_nowait()
