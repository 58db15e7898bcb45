"""What a shop's order webhook may contain, as typed pydantic models (Shopify, WooCommerce).

A webhook body is validated against its platform's model before anything is looked up or stored, so a
malformed delivery gets a 400 naming the field instead of a 500 (a shop retries a 5xx for days) or a
strange stored value: ids are strings or integers (never null, an object or a float), amounts are plain
finite numbers within a sane bound, dates are ISO 8601 between 2000 and a few years ahead, and text holds
no control characters (PostgreSQL refuses NUL). Fields the bot does not use are ignored. Business limits
(the shop's currency, its largest order, no order dated more than a day ahead) are checked later by
`purchases.validate_order` and answered with a 422 naming the reason.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from bot.loyalty.purchases import EARLIEST_ORDER_DATE

# Large enough for any real order (the business limit, LOYALTY_MAX_ORDER_AMOUNT, is far lower), small
# enough that arithmetic on it cannot overflow.
MAX_AMOUNT = Decimal(10) ** 12
AMOUNT = re.compile(r"-?\d{1,13}(\.\d{1,8})?")
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # a date past this is a typo; near-future ones are refused later
MAX_ID = 2**64 - 1  # shops number orders and customers with (at most) unsigned 64-bit integers
MAX_ID_LENGTH = 100  # stored after a prefix ("shopify:") in 128-character columns
MAX_TEXT = 128


def _text(value: Any, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    if len(value) > limit:
        raise ValueError(f"must be at most {limit} characters")
    if not value.isprintable():
        raise ValueError("must not contain control characters")
    return value


def _shop_id(value: Any) -> str:
    """An id as the shop sends it: a non-empty string or a non-negative integer; stored as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= MAX_ID:
            raise ValueError("must be an integer from 0 to 2**64-1")
        return str(value)
    if isinstance(value, str):
        text = _text(value, limit=MAX_ID_LENGTH)
        if text:
            return text
    raise ValueError("must be a non-empty string or an integer")


def _optional_text(value: Any) -> str | None:
    """Phones, currencies, statuses: a string (blank = absent); a number is taken as its digits."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return _text(value) or None


def _optional_shop_id(value: Any) -> str | None:
    """A customer id that may be missing: null, "" and 0 (WooCommerce's guest) mean none."""
    if value is None or value == "" or (value == 0 and not isinstance(value, bool)):
        return None
    return _shop_id(value)


def _amount(value: Any) -> Decimal | None:
    """ "42.00" or 42 or 42.5: a finite amount; "Infinity", "NaN", "1e999999999" and the like are refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError('must be an amount such as "42.00"')
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite amount")
        value = repr(value)
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str) and AMOUNT.fullmatch(value.strip()):
        amount = Decimal(value.strip())
    else:
        raise ValueError('must be an amount such as "42.00"')
    if abs(amount) > MAX_AMOUNT:
        raise ValueError("is out of range")
    return amount


def _moment(value: Any) -> datetime | None:
    """ISO 8601, e.g. 2026-03-15T10:00:00+03:00; WooCommerce's *_gmt fields carry no offset but are UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be an ISO 8601 date")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)  # year 1 or 9999 with an offset overflows here, not later
    except (ValueError, OverflowError):
        raise ValueError("must be an ISO 8601 date") from None
    if not EARLIEST_ORDER_DATE <= moment < LATEST:
        raise ValueError("must be a date from 2000 on")
    return moment


ShopId = Annotated[str, BeforeValidator(_shop_id)]
OptionalShopId = Annotated[str | None, BeforeValidator(_optional_shop_id)]
Text = Annotated[str | None, BeforeValidator(_optional_text)]
Amount = Annotated[Decimal | None, BeforeValidator(_amount)]
Moment = Annotated[datetime | None, BeforeValidator(_moment)]


class Payload(BaseModel):
    # Shops send many more fields than the bot reads; only these are checked.
    model_config = ConfigDict(extra="ignore", frozen=True)


class ShopifyCustomer(Payload):
    id: OptionalShopId = None
    phone: Text = None


class ShopifyAddress(Payload):
    phone: Text = None


class ShopifyOrder(Payload):
    """orders/create, orders/paid, orders/updated, orders/cancelled."""

    id: ShopId
    financial_status: Text = None
    total_price: Amount = None
    currency: Text = None
    processed_at: Moment = None
    created_at: Moment = None
    phone: Text = None
    customer: ShopifyCustomer | None = None
    billing_address: ShopifyAddress | None = None


class ShopifyTransaction(Payload):
    kind: Text = None
    status: Text = None
    amount: Amount = None


class ShopifyRefund(Payload):
    """refunds/create: the money given back is in its successful refund transactions."""

    id: ShopId
    order_id: ShopId
    transactions: list[ShopifyTransaction] | None = None


class WooBilling(Payload):
    phone: Text = None


class WooRefund(Payload):
    id: OptionalShopId = None
    total: Amount = None  # negative, e.g. "-5.00"


class WooOrder(Payload):
    """order.created, order.updated: the whole order, with every refund made so far."""

    id: ShopId
    status: Text = None
    total: Amount = None
    currency: Text = None
    date_paid_gmt: Moment = None
    date_created_gmt: Moment = None
    customer_id: OptionalShopId = None
    billing: WooBilling | None = None
    refunds: list[WooRefund] | None = None


ModelT = TypeVar("ModelT", bound=Payload)
ValueT = TypeVar("ValueT")


class MalformedPayload(ValueError):
    """A webhook body its platform's model refuses; the message is short and names the field."""


def validated(model: type[ModelT], payload: Any) -> ModelT:
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise MalformedPayload(f"{where}: {first['msg'].removeprefix('Value error, ')}"[:200]) from None


def required(value: ValueT | None, field: str) -> ValueT:
    if value is None:
        raise MalformedPayload(f"{field}: required")
    return value
