"""Shop orders, the source of every purchase-based metric and reward."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class OrderStatus(StrEnum):
    PAID = "paid"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class Order(SQLModel, table=True):
    __tablename__ = "orders"

    id: int | None = Field(default=None, primary_key=True)
    # The shop's own order id; unique across sources so a retry or a second channel never double-counts.
    external_id: str = Field(sa_column=Column(String(128), nullable=False, unique=True))
    source: str = Field(default="manual", max_length=32)
    customer_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), index=True),
    )
    # How the shop named the customer when they were not yet known here (phone, member code, external id);
    # kept so the order can be linked when they join.
    customer_ref: str | None = Field(default=None, max_length=128, index=True)
    amount_minor: int = Field(ge=0)
    currency: str = Field(max_length=3)
    status: str = Field(default=OrderStatus.PAID, sa_column=Column(String(16), nullable=False))
    ordered_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    refunded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
