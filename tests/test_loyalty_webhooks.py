"""Shop order webhooks over real loopback HTTP: signatures, duplicates, refunds, malformed bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.app import WEB_ROUTES
from bot.settings import load_settings
from bot.web import build_web_app
from storage.customers import get_customer
from storage.models import OrderStatus
from storage.orders import get_order
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import balance

SHOPIFY_SECRET = "shpss_test_secret"
WOO_SECRET = "woo-secret-123"
LAYLA = TgUser(id=7001, first_name="Layla", language_code="ar")


@pytest.fixture
def settings(settings):
    return settings.model_copy(
        update={
            "shopify_webhook_secret": SecretStr(SHOPIFY_SECRET),
            "woocommerce_webhook_secret": SecretStr(WOO_SECRET),
        }
    )


@pytest.fixture
async def base_url(harness) -> AsyncIterator[str]:
    runner = web.AppRunner(build_web_app(harness.app, WEB_ROUTES))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


async def post(url: str, payload, *, secret: str, header: str, topic_header: str, topic: str, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {header: sign(secret, body), topic_header: topic, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as client, client.post(url, data=body, headers=headers) as response:
        return response.status, await response.text()


async def shopify(base_url, payload, *, topic="orders/paid", secret=SHOPIFY_SECRET, raw=None):
    return await post(
        f"{base_url}/webhooks/shopify",
        payload,
        secret=secret,
        header="X-Shopify-Hmac-SHA256",
        topic_header="X-Shopify-Topic",
        topic=topic,
        raw=raw,
    )


async def woo(base_url, payload, *, topic="order.updated", secret=WOO_SECRET, raw=None):
    return await post(
        f"{base_url}/webhooks/woocommerce",
        payload,
        secret=secret,
        header="X-WC-Webhook-Signature",
        topic_header="X-WC-Webhook-Topic",
        topic=topic,
        raw=raw,
    )


def shopify_order(order_id=5001, total="42.00", phone="+966500000001"):
    return {
        "id": order_id,
        "total_price": total,
        "currency": "USD",
        "financial_status": "paid",
        "created_at": "2026-03-15T10:00:00+03:00",
        "customer": {"id": 88, "phone": phone},
    }


async def customer_id(harness, user):
    async with harness.db.read_session() as session:
        return (await get_customer(session, telegram_id=user.id)).id


async def joined_with_phone(harness, phone):
    await harness.send(updates.command(LAYLA, "/start"))
    await harness.send(updates.contact(LAYLA, phone))
    return await customer_id(harness, LAYLA)


async def test_shopify_order_awards_and_notifies_once_and_refund_reverses(harness, base_url):
    cid = await joined_with_phone(harness, "+966500000001")
    settings = harness.app.bot_data["settings"]
    assert await shopify(base_url, shopify_order()) == (200, "recorded")
    assert "ربحت" in harness.last_text_to(LAYLA) and "\u206842\u2069" in harness.last_text_to(LAYLA)
    sent = len(harness.texts_to(LAYLA))
    assert await shopify(base_url, shopify_order()) == (200, "duplicate")
    assert await shopify(base_url, shopify_order(), topic="orders/create") == (200, "duplicate")
    assert len(harness.texts_to(LAYLA)) == sent
    assert (await balance(harness.db, settings, cid, harness.clock.now())).pending == 42
    refund = {"id": 1, "order_id": 5001, "refund_line_items": []}
    assert await shopify(base_url, refund, topic="refunds/create") == (200, "reversed")
    assert await shopify(base_url, refund, topic="refunds/create") == (200, "unchanged")
    current = await balance(harness.db, settings, cid, harness.clock.now())
    assert (current.available, current.pending) == (50, 0)


async def test_bad_or_missing_signature_is_refused_and_records_nothing(harness, base_url):
    assert (await shopify(base_url, shopify_order(), secret="wrong"))[0] == 401
    assert (await woo(base_url, {"id": 1, "status": "completed", "total": "5"}, secret="wrong"))[0] == 401
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{base_url}/webhooks/shopify", data=b"{}") as resp,
    ):
        assert resp.status == 401
    async with harness.db.read_session() as session:
        assert await get_order(session, external_id="5001") is None


async def test_unknown_customer_order_is_kept_until_they_share_their_phone(harness, base_url):
    assert await shopify(base_url, shopify_order(5002, "10.00", "+966500000002")) == (200, "recorded")
    cid = await joined_with_phone(harness, "+966500000002")
    settings = harness.app.bot_data["settings"]
    assert (await balance(harness.db, settings, cid, harness.clock.now())).pending == 10


async def test_woocommerce_order_then_refund(harness, base_url):
    cid = await joined_with_phone(harness, "+966500000003")
    order = {
        "id": 733,
        "status": "processing",
        "total": "19.99",
        "currency": "USD",
        "date_created_gmt": "2026-03-15T09:00:00",
        "billing": {"phone": "+966500000003"},
    }
    assert await woo(base_url, order, topic="order.created") == (200, "recorded")
    assert await woo(base_url, order, topic="order.updated") == (200, "duplicate")
    settings = harness.app.bot_data["settings"]
    assert (await balance(harness.db, settings, cid, harness.clock.now())).pending == 19
    assert await woo(base_url, {**order, "status": "refunded"}) == (200, "reversed")
    async with harness.db.read_session() as session:
        assert (await get_order(session, external_id="733")).status == OrderStatus.REFUNDED
    assert (await balance(harness.db, settings, cid, harness.clock.now())).pending == 0


async def test_woocommerce_ping_and_ignored_topics_are_acknowledged(harness, base_url):
    assert await woo(base_url, None, raw=b"webhook_id=12") == (200, "ignored")
    assert await woo(base_url, {"id": 9, "status": "pending", "total": "5"}) == (200, "ignored")
    assert await shopify(base_url, {**shopify_order(), "financial_status": "pending"}) == (200, "ignored")


async def test_malformed_and_out_of_range_orders_are_refused(harness, base_url):
    assert (await shopify(base_url, {"id": 1, "financial_status": "paid"}))[0] == 400
    assert (await shopify(base_url, shopify_order(total="abc")))[0] == 400
    assert await shopify(base_url, shopify_order(total="-5.00")) == (422, "amount_negative")
    assert await shopify(base_url, shopify_order(total="99999999.00")) == (422, "amount_too_large")
    assert await shopify(base_url, {**shopify_order(), "currency": "EUR"}) == (422, "currency")
    assert (await shopify(base_url, [1, 2]))[0] == 400
    async with harness.db.read_session() as session:
        assert await get_order(session, external_id="5001") is None


async def test_unconfigured_shop_is_refused(harness, base_url):
    harness.app.bot_data["settings"] = harness.app.bot_data["settings"].model_copy(
        update={"woocommerce_webhook_secret": None}
    )
    assert (await woo(base_url, {"id": 1}))[0] == 503


async def test_shop_customer_id_learned_from_a_phone_match_links_earlier_orders(harness, base_url):
    no_phone = {**shopify_order(6001, "30.00", None), "customer": {"id": 99}}
    assert await shopify(base_url, no_phone) == (200, "recorded")
    cid = await joined_with_phone(harness, "+966500000009")
    assert await shopify(
        base_url,
        {**shopify_order(6002, "20.00", "+966500000009"), "customer": {"id": 99, "phone": "+966500000009"}},
    ) == (200, "recorded")
    settings = harness.app.bot_data["settings"]
    assert (await balance(harness.db, settings, cid, harness.clock.now())).pending == 50
    async with harness.db.read_session() as session:
        assert (await get_order(session, external_id="6001")).customer_id == cid


def shopify_refund(refund_id, amount, *, order_id=5003, status="success"):
    return {
        "id": refund_id,
        "order_id": order_id,
        "refund_line_items": [],
        "transactions": [{"kind": "refund", "status": status, "amount": amount}],
    }


async def test_shopify_partial_refund_takes_back_only_its_share_once(harness, base_url):
    cid = await joined_with_phone(harness, "+966500000003")
    settings = harness.app.bot_data["settings"]

    async def pending():
        return (await balance(harness.db, settings, cid, harness.clock.now())).pending

    assert await shopify(base_url, shopify_order(5003, "200.00", "+966500000003")) == (200, "recorded")
    assert await pending() == 200
    # $5 of $200 back: 5 points go, not all 200.
    assert await shopify(base_url, shopify_refund(71, "5.00"), topic="refunds/create") == (200, "reversed")
    assert await pending() == 195
    assert await shopify(base_url, shopify_refund(71, "5.00"), topic="refunds/create") == (200, "unchanged")
    assert await shopify(base_url, shopify_refund(72, "9.00", status="failure"), topic="refunds/create") == (
        200,
        "ignored",
    )
    assert await pending() == 195
    async with harness.db.read_session() as session:
        assert (await get_order(session, external_id="5003")).status == OrderStatus.PAID
    # Cancelling the rest takes back what is left, not the whole 200 again.
    cancelled = {**shopify_order(5003, "200.00", "+966500000003"), "financial_status": "voided"}
    assert await shopify(base_url, cancelled, topic="orders/cancelled") == (200, "reversed")
    current = await balance(harness.db, settings, cid, harness.clock.now())
    assert (current.available, current.pending) == (50, 0)  # the welcome bonus is untouched


async def test_shopify_refund_of_the_whole_amount_refunds_the_order(harness, base_url):
    cid = await joined_with_phone(harness, "+966500000004")
    settings = harness.app.bot_data["settings"]
    assert await shopify(base_url, shopify_order(5004, "30.00", "+966500000004")) == (200, "recorded")
    refund = shopify_refund(73, "30.00", order_id=5004)
    assert await shopify(base_url, refund, topic="refunds/create") == (200, "reversed")
    async with harness.db.read_session() as session:
        assert (await get_order(session, external_id="5004")).status == OrderStatus.REFUNDED
    assert (await balance(harness.db, settings, cid, harness.clock.now())).pending == 0


async def test_a_blank_secret_means_not_configured_not_the_empty_key(harness, base_url):
    blank = load_settings(_env_file=None, shopify_webhook_secret="", woocommerce_webhook_secret="  ")
    assert blank.shopify_webhook_secret is None and blank.woocommerce_webhook_secret is None
    harness.app.bot_data["settings"] = harness.app.bot_data["settings"].model_copy(
        update={"shopify_webhook_secret": blank.shopify_webhook_secret}
    )
    # A forger signs with the empty key, as an empty SHOPIFY_WEBHOOK_SECRET= used to accept.
    status, _ = await shopify(base_url, shopify_order(5009, "500.00"), secret="")
    assert status == 503
    async with harness.db.read_session() as session:
        assert await get_order(session, external_id="5009") is None


async def test_a_refund_that_overtakes_its_order_keeps_the_late_order_from_earning(harness, base_url):
    cid = await joined_with_phone(harness, "+966500000005")
    settings = harness.app.bot_data["settings"]
    refund = {"id": 74, "order_id": 5005, "refund_line_items": []}
    assert await shopify(base_url, refund, topic="refunds/create") == (200, "reversed")
    assert await shopify(base_url, shopify_order(5005, "80.00", "+966500000005")) == (200, "duplicate")
    async with harness.db.read_session() as session:
        assert (await get_order(session, external_id="5005")).status == OrderStatus.REFUNDED
    current = await balance(harness.db, settings, cid, harness.clock.now())
    assert (current.available, current.pending) == (50, 0)
    cancel = {"id": 5006, "status": "cancelled", "total": "9"}
    assert await woo(base_url, cancel) == (200, "reversed")
    assert await woo(base_url, {**cancel, "status": "cancelled"}) == (200, "unchanged")


async def test_telegram_webhook_answers_400_to_json_that_is_not_an_update(harness, base_url):
    secret = harness.app.bot_data["webhook_secret"]
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as client:
        for body in (b"[1, 2]", b'"text"', b"null"):
            async with client.post(f"{base_url}/telegram", data=body, headers=headers) as response:
                assert response.status == 400


def woo_order(order_id=740, total="200.00", phone="+966500000005", status="processing", refunds=()):
    return {
        "id": order_id,
        "status": status,
        "total": total,
        "currency": "USD",
        "date_created_gmt": "2026-03-15T09:00:00",
        "billing": {"phone": phone},
        "refunds": [{"id": refund_id, "reason": "", "total": f"-{amount}"} for refund_id, amount in refunds],
    }


async def test_woocommerce_partial_refunds_take_back_only_their_share_once(harness, base_url):
    cid = await joined_with_phone(harness, "+966500000005")
    settings = harness.app.bot_data["settings"]

    async def pending():
        return (await balance(harness.db, settings, cid, harness.clock.now())).pending

    assert await woo(base_url, woo_order(), topic="order.created") == (200, "recorded")
    assert await pending() == 200
    # WooCommerce sends the whole order again, listing the refund: $5 of $200 takes back 5 points.
    assert await woo(base_url, woo_order(refunds=[(91, "5.00")])) == (200, "reversed")
    assert await pending() == 195
    assert await woo(base_url, woo_order(refunds=[(91, "5.00")])) == (200, "duplicate"), "redelivery"
    assert await woo(base_url, woo_order(refunds=[(91, "5.00"), (92, "15.00")])) == (200, "reversed")
    assert await pending() == 180
    # Marked "refunded" by hand although the refunds give back only $20: still partial, order stays paid.
    marked = woo_order(status="refunded", refunds=[(91, "5.00"), (92, "15.00")])
    assert await woo(base_url, marked) == (200, "unchanged")
    assert await pending() == 180
    async with harness.db.read_session() as session:
        assert (await get_order(session, external_id="740")).status == OrderStatus.PAID
    # The rest refunded: the order is refunded and only what was left is taken back.
    full = woo_order(status="refunded", refunds=[(91, "5.00"), (92, "15.00"), (93, "180.00")])
    assert await woo(base_url, full) == (200, "reversed")
    async with harness.db.read_session() as session:
        assert (await get_order(session, external_id="740")).status == OrderStatus.REFUNDED
    current = await balance(harness.db, settings, cid, harness.clock.now())
    assert (current.available, current.pending) == (50, 0)  # the welcome bonus is untouched


async def test_woocommerce_refund_without_amounts_is_whole_order(harness, base_url):
    cid = await joined_with_phone(harness, "+966500000006")
    settings = harness.app.bot_data["settings"]
    assert await woo(base_url, woo_order(741, "30.00", "+966500000006"), topic="order.created") == (
        200,
        "recorded",
    )
    no_amount = {**woo_order(741, "30.00", "+966500000006", status="refunded"), "refunds": [{"id": 5}]}
    assert await woo(base_url, no_amount) == (200, "reversed")
    async with harness.db.read_session() as session:
        assert (await get_order(session, external_id="741")).status == OrderStatus.REFUNDED
    assert (await balance(harness.db, settings, cid, harness.clock.now())).pending == 0
