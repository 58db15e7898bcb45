"""What a validated shop webhook asks for: ingest a paid order, reverse one (wholly or in part), or nothing.

The payloads are checked by their platform's model first (`bot/loyalty/shop_payloads.py`); these
functions only read the typed fields, so nothing here can fail on a malformed body except with
`MalformedPayload` (a field the event needs is missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.loyalty.shop_payloads import (
    ShopifyAddress,
    ShopifyCustomer,
    ShopifyOrder,
    ShopifyRefund,
    WooOrder,
    WooRefund,
    required,
    validated,
)
from storage.models import OrderStatus


@dataclass(frozen=True)
class ShopEvent:
    """What a webhook asks for: ingest a paid order, reverse one, or nothing."""

    action: str  # "ingest", "reverse" or "ignore"
    order_id: str = ""
    amount: Decimal = Decimal(0)
    currency: str = ""
    ordered_at: datetime | None = None
    customer_ref: str | None = None
    shop_customer: str | None = None  # e.g. "shopify:88", learned for customers matched by phone
    status: str = OrderStatus.REFUNDED
    refund_id: str = ""
    refunded: Decimal | None = None  # amount of a (possibly partial) refund; None = the whole order
    # WooCommerce: (refund id, amount) of the partial refunds an order lists, each applied once.
    parts: tuple[tuple[str, Decimal], ...] = ()


IGNORE = ShopEvent("ignore")


def _phone(*candidates: str | None) -> str | None:
    return next((value for value in candidates if value), None)


def shopify_refund(payload: Any) -> ShopEvent:
    """A refund gives back the money of its successful refund transactions: maybe a part of the order."""
    refund = validated(ShopifyRefund, payload)
    if refund.transactions is None:  # no money detail: treat it as the whole order
        return ShopEvent("reverse", order_id=refund.order_id)
    refunded = sum(
        (
            required(item.amount, "transactions.amount")
            for item in refund.transactions
            if item.kind == "refund" and item.status == "success"
        ),
        Decimal(0),
    )
    if refunded <= 0:  # e.g. a restock without money back
        return IGNORE
    return ShopEvent("reverse", order_id=refund.order_id, refund_id=refund.id, refunded=refunded)


def shopify_event(topic: str, payload: Any) -> ShopEvent:
    if topic == "refunds/create":
        return shopify_refund(payload)
    order = validated(ShopifyOrder, payload)
    if topic == "orders/cancelled" or order.financial_status in ("refunded", "voided"):
        status = OrderStatus.CANCELLED if topic == "orders/cancelled" else OrderStatus.REFUNDED
        return ShopEvent("reverse", order_id=order.id, status=status)
    if topic in ("orders/create", "orders/paid", "orders/updated") and order.financial_status == "paid":
        customer = order.customer or ShopifyCustomer()
        billing = order.billing_address or ShopifyAddress()
        shop_customer = f"shopify:{customer.id}" if customer.id else None
        ref = _phone(order.phone, customer.phone, billing.phone) or shop_customer
        return ShopEvent(
            "ingest",
            order_id=order.id,
            amount=required(order.total_price, "total_price"),
            currency=order.currency or "",
            ordered_at=required(order.processed_at or order.created_at, "created_at"),
            customer_ref=ref,
            shop_customer=shop_customer,
        )
    return IGNORE


def woocommerce_refunds(refunds: list[WooRefund] | None) -> tuple[tuple[str, Decimal], ...] | None:
    """(refund id, amount) of each refund a WooCommerce order lists (its `total` is negative, e.g. "-5.00");
    None when some refund carries no id or amount, so callers fall back to whole-order rules."""
    parts = []
    for refund in refunds or ():
        if refund.id is None or refund.total is None:
            return None
        if refund.total != 0:
            parts.append((refund.id, abs(refund.total)))
    return tuple(parts)


def woocommerce_event(topic: str, payload: Any) -> ShopEvent:
    order = validated(WooOrder, payload)
    parts = woocommerce_refunds(order.refunds) or ()
    refunded = sum((amount for _, amount in parts), Decimal(0))
    if order.status == "refunded" and parts and refunded < (order.total or 0):
        # Marked refunded, but the refunds listed give back only part of the money: like Shopify, only
        # that share of the points goes and the order stays paid.
        return ShopEvent("reverse", order_id=order.id, parts=parts)
    if order.status in ("refunded", "cancelled"):
        return ShopEvent("reverse", order_id=order.id, status=order.status)
    if topic in ("order.created", "order.updated") and order.status in ("processing", "completed"):
        shop_customer = f"woocommerce:{order.customer_id}" if order.customer_id else None
        ref = _phone(order.billing.phone if order.billing else None) or shop_customer
        return ShopEvent(
            "ingest",
            order_id=order.id,
            amount=required(order.total, "total"),
            currency=order.currency or "",
            ordered_at=required(order.date_paid_gmt or order.date_created_gmt, "date_created_gmt"),
            customer_ref=ref,
            shop_customer=shop_customer,
            parts=parts,  # partial refunds of an order still being fulfilled
        )
    return IGNORE
