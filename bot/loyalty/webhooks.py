"""Shop order webhooks (Shopify, WooCommerce): verified by HMAC-SHA256, idempotent on the order id.

Both shops sign the raw body: base64(HMAC-SHA256(secret, body)) in X-Shopify-Hmac-SHA256 or
X-WC-Webhook-Signature. The body is then validated by its platform's model (`shop_payloads.py`): a
malformed one gets a 400 and a refused order a 422, each with a short reason, so the shop stops retrying
and nothing is stored. A redelivery (same webhook, same order id) changes nothing; refunds and
cancellations reverse the order's points once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from datetime import datetime
from decimal import Decimal

from aiohttp import web
from telegram.ext import Application

from bot.loyalty import purchases
from bot.loyalty.notify import tell_points_earned
from bot.loyalty.order_events import OrderListeners
from bot.loyalty.refunds import reverse_part, reverse_parts
from bot.loyalty.shop_events import ShopEvent, shopify_event, woocommerce_event
from bot.loyalty.shop_payloads import MalformedPayload
from bot.settings import Settings
from bot.web import APPLICATION_KEY
from storage.orders import get_order

logger = logging.getLogger(__name__)
WOOCOMMERCE_PING = re.compile(rb"webhook_id=\d{1,20}")


def signature_ok(secret: str, body: bytes, given: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    # A header is any bytes (aiohttp keeps undecodable ones as surrogates): compare them, never fail.
    return hmac.compare_digest(expected, given.strip().encode(errors="replace"))


def _minor(amount: Decimal, exponent: int) -> int:
    # Amounts are bounded by their model (shop_payloads.MAX_AMOUNT), so this cannot overflow.
    value = amount * (Decimal(10) ** exponent)
    if value != value.to_integral_value():
        raise purchases.BadOrder("amount_precision")
    return int(value)


async def apply_event(application: Application, source: str, event: ShopEvent) -> str:
    data = application.bot_data
    settings: Settings = data["settings"]
    listeners: OrderListeners = data["order_listeners"]
    db, now = data["db"], data["clock"].now()
    if event.action == "reverse":
        async with db.session() as session:
            if event.parts:
                changed = await _reverse_parts(session, settings, listeners, now, event)
                return "reversed" if changed else "unchanged"
            if event.refunded is not None:
                outcome = await reverse_part(
                    session,
                    settings=settings,
                    listeners=listeners,
                    now=now,
                    external_id=event.order_id,
                    refund_id=event.refund_id,
                    amount_minor=_minor(event.refunded, settings.currency_exponent),
                )
            elif await get_order(session, external_id=event.order_id) is None:
                # Shops do not promise delivery order: the refund may overtake the order itself. Keeping the
                # order as refunded makes its late "paid" delivery a duplicate instead of awarding points.
                await purchases.ingest_order(
                    session,
                    settings=settings,
                    listeners=listeners,
                    now=now,
                    external_id=event.order_id,
                    amount_minor=0,
                    ordered_at=now,
                    source=source,
                    status=event.status,
                )
                return "reversed"
            else:
                outcome = await purchases.reverse_order(
                    session,
                    settings=settings,
                    listeners=listeners,
                    now=now,
                    external_id=event.order_id,
                    status=event.status,
                )
        return "reversed" if outcome.changed else "unchanged"
    amount = _minor(event.amount, settings.currency_exponent)
    async with db.session() as session:
        if await get_order(session, external_id=event.order_id) is not None:
            refunded = event.parts and await _reverse_parts(session, settings, listeners, now, event)
            return "reversed" if refunded else "duplicate"
        recorded = await purchases.ingest_order(
            session,
            settings=settings,
            listeners=listeners,
            now=now,
            external_id=event.order_id,
            amount_minor=amount,
            ordered_at=event.ordered_at or now,
            customer_ref=event.customer_ref,
            shop_customer_ref=event.shop_customer,
            source=source,
            currency=event.currency or None,
        )
        if event.parts:  # first seen with refunds already made
            await _reverse_parts(session, settings, listeners, now, event)
    await tell_points_earned(
        application.bot, db=db, templates=data["templates"], settings=settings, now=now, outcome=recorded
    )
    return "recorded" if recorded.created else "duplicate"


async def _reverse_parts(
    session, settings: Settings, listeners: OrderListeners, now: datetime, event: ShopEvent
) -> bool:
    parts = tuple(
        (refund_id, _minor(amount, settings.currency_exponent)) for refund_id, amount in event.parts
    )
    return await reverse_parts(
        session, settings=settings, listeners=listeners, now=now, external_id=event.order_id, parts=parts
    )


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _refused(source: str, status: int, reason: str) -> web.Response:
    # A 4xx tells the shop not to retry; one line, no traceback: the body was bad, not the bot.
    logger.warning("Refused %s order webhook (%s): %s", source, status, reason)
    return web.Response(status=status, text=reason)


def _handler(source: str, secret_field: str, signature_header: str, topic_header: str, parse):
    async def receive(request: web.Request) -> web.Response:
        application = request.app[APPLICATION_KEY]
        settings: Settings = application.bot_data["settings"]
        secret = getattr(settings, secret_field)
        if secret is None:
            return web.Response(status=503, text=f"{source} webhooks are not configured")
        body = await request.read()
        if not signature_ok(secret.get_secret_value(), body, request.headers.get(signature_header, "")):
            return web.Response(status=401, text="bad signature")
        try:
            payload = json.loads(body, parse_constant=_refuse_constant)
        except (
            ValueError,
            RecursionError,
        ):  # not JSON or not UTF-8, NaN/Infinity, huge integers, deep nesting
            if source == "woocommerce" and WOOCOMMERCE_PING.fullmatch(body):
                return web.Response(text="ignored")  # WooCommerce pings a new webhook with a form body
            return _refused(source, 400, "body is not JSON")
        if not isinstance(payload, dict):
            return _refused(source, 400, "body is not a JSON object")
        try:
            event = parse(request.headers.get(topic_header, ""), payload)
            if event.action == "ignore":
                return web.Response(text="ignored")
            result = await apply_event(application, source, event)
        except MalformedPayload as error:
            return _refused(source, 400, str(error))
        except purchases.BadOrder as error:
            return _refused(source, 422, error.reason)
        return web.Response(text=result)

    return receive


def install(app: web.Application) -> None:
    app.router.add_post(
        "/webhooks/shopify",
        _handler(
            "shopify", "shopify_webhook_secret", "X-Shopify-Hmac-SHA256", "X-Shopify-Topic", shopify_event
        ),
    )
    app.router.add_post(
        "/webhooks/woocommerce",
        _handler(
            "woocommerce",
            "woocommerce_webhook_secret",
            "X-WC-Webhook-Signature",
            "X-WC-Webhook-Topic",
            woocommerce_event,
        ),
    )
