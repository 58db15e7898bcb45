"""Shop order webhooks (Shopify, WooCommerce): verified by HMAC-SHA256, idempotent on the order id.

Both shops sign the raw body: base64(HMAC-SHA256(secret, body)) in X-Shopify-Hmac-SHA256 or
X-WC-Webhook-Signature. A redelivery (same webhook, same order id) changes nothing; refunds and
cancellations reverse the order's points once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web
from telegram.ext import Application

from bot.loyalty import purchases
from bot.loyalty.notify import tell_points_earned
from bot.loyalty.order_events import OrderListeners
from bot.loyalty.refunds import reverse_part, reverse_parts, woocommerce_refunds
from bot.settings import Settings
from bot.web import APPLICATION_KEY
from storage.models import OrderStatus
from storage.orders import get_order

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopEvent:
    """What a webhook asks for: ingest a paid order, reverse one, or nothing."""

    action: str  # "ingest", "reverse" or "ignore"
    order_id: str = ""
    amount: str = "0"
    currency: str = ""
    ordered_at: str = ""
    customer_ref: str | None = None
    shop_customer: str | None = None  # e.g. "shopify:88", learned for customers matched by phone
    status: str = OrderStatus.REFUNDED
    refund_id: str = ""
    refunded: str | None = None  # amount of a (possibly partial) refund; None = the whole order
    # WooCommerce: (refund id, amount) of the partial refunds an order lists, each applied once.
    parts: tuple[tuple[str, Decimal], ...] = ()


def signature_ok(secret: str, body: bytes, given: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, given.strip().encode())


def _phone(*candidates: Any) -> str | None:
    return next((str(value) for value in candidates if value), None)


def shopify_refund(payload: dict[str, Any]) -> ShopEvent:
    """A refund gives back the money of its successful refund transactions: maybe a part of the order."""
    order_id = str(payload["order_id"])
    transactions = payload.get("transactions")
    if transactions is None:  # no money detail: treat it as the whole order
        return ShopEvent("reverse", order_id=order_id)
    refunded = sum(
        (
            Decimal(str(item["amount"]))
            for item in transactions
            if item.get("kind") == "refund" and item.get("status") == "success"
        ),
        Decimal(0),
    )
    if refunded <= 0:  # e.g. a restock without money back
        return ShopEvent("ignore")
    return ShopEvent("reverse", order_id=order_id, refund_id=str(payload["id"]), refunded=str(refunded))


def shopify_event(topic: str, payload: dict[str, Any]) -> ShopEvent:
    if topic == "refunds/create":
        return shopify_refund(payload)
    order_id = str(payload["id"])
    if topic == "orders/cancelled" or payload.get("financial_status") in ("refunded", "voided"):
        status = OrderStatus.CANCELLED if topic == "orders/cancelled" else OrderStatus.REFUNDED
        return ShopEvent("reverse", order_id=order_id, status=status)
    if (
        topic in ("orders/create", "orders/paid", "orders/updated")
        and payload.get("financial_status") == "paid"
    ):
        customer = payload.get("customer") or {}
        billing = payload.get("billing_address") or {}
        shop_customer = f"shopify:{customer['id']}" if customer.get("id") else None
        ref = _phone(payload.get("phone"), customer.get("phone"), billing.get("phone")) or shop_customer
        return ShopEvent(
            "ingest",
            order_id=order_id,
            amount=str(payload["total_price"]),
            currency=str(payload.get("currency") or ""),
            ordered_at=str(payload.get("processed_at") or payload["created_at"]),
            customer_ref=ref,
            shop_customer=shop_customer,
        )
    return ShopEvent("ignore")


def woocommerce_event(topic: str, payload: dict[str, Any]) -> ShopEvent:
    order_id = str(payload["id"])
    status = payload.get("status")
    parts = woocommerce_refunds(payload) or ()
    refunded = sum((amount for _, amount in parts), Decimal(0))
    if status == "refunded" and parts and refunded < Decimal(str(payload.get("total") or 0)):
        # Marked refunded, but the refunds listed give back only part of the money: like Shopify, only
        # that share of the points goes and the order stays paid.
        return ShopEvent("reverse", order_id=order_id, parts=parts)
    if status in ("refunded", "cancelled"):
        return ShopEvent("reverse", order_id=order_id, status=status)
    if topic in ("order.created", "order.updated") and status in ("processing", "completed"):
        billing = payload.get("billing") or {}
        shop_customer = f"woocommerce:{payload['customer_id']}" if payload.get("customer_id") else None
        ref = _phone(billing.get("phone")) or shop_customer
        return ShopEvent(
            "ingest",
            order_id=order_id,
            amount=str(payload["total"]),
            currency=str(payload.get("currency") or ""),
            ordered_at=str(payload.get("date_paid_gmt") or payload["date_created_gmt"]),
            customer_ref=ref,
            shop_customer=shop_customer,
            parts=parts,  # partial refunds of an order still being fulfilled
        )
    return ShopEvent("ignore")


def _minor(amount: str, exponent: int) -> int:
    value = Decimal(amount) * (Decimal(10) ** exponent)
    if value != value.to_integral_value():
        raise purchases.BadOrder("amount_precision")
    return int(value)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:  # WooCommerce *_gmt fields carry no offset but are UTC
        moment = moment.replace(tzinfo=UTC)
    return moment


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
            ordered_at=_moment(event.ordered_at),
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
        (refund_id, _minor(str(amount), settings.currency_exponent)) for refund_id, amount in event.parts
    )
    return await reverse_parts(
        session, settings=settings, listeners=listeners, now=now, external_id=event.order_id, parts=parts
    )


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
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            # WooCommerce pings a new webhook with a form body; acknowledge it.
            return web.Response(text="ignored")
        try:
            event = parse(request.headers.get(topic_header, ""), payload)
            if event.action == "ignore":
                return web.Response(text="ignored")
            result = await apply_event(application, source, event)
        except purchases.BadOrder as error:
            logger.warning("Refused %s order webhook: %s", source, error.reason)
            return web.Response(status=422, text=error.reason)
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as error:
            logger.warning("Malformed %s order webhook: %r", source, error)
            return web.Response(status=400, text="malformed order")
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
