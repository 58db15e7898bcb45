"""Referrals: each customer's invitation code, and who joined through whose link with what outcome."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class ReferralStatus(StrEnum):
    ATTRIBUTED = "attributed"  # joined through the link, no qualifying purchase yet
    PENDING = "pending"  # qualifying first purchase made, waiting for its return window to end
    CONVERTED = "converted"  # the purchase was kept past the return window (rewarded unless capped)
    CANCELLED = "cancelled"  # the qualifying purchase was refunded within the return window


class ReferralCode(SQLModel, table=True):
    __tablename__ = "referral_codes"

    # One code per customer, deleted by /forgetme (the link then stops working).
    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    )
    code: str = Field(sa_column=Column(String(16), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Referral(SQLModel, table=True):
    __tablename__ = "referrals"

    id: int | None = Field(default=None, primary_key=True)
    # Null once that side used /forgetme: the row stays for the shop's anonymous counts.
    referrer_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), index=True),
    )
    # Unique: a customer is attributed to one referrer at most, enforced by the database.
    referee_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), unique=True),
    )
    status: str = Field(
        default=ReferralStatus.ATTRIBUTED, sa_column=Column(String(16), nullable=False, index=True)
    )
    attributed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    # The qualifying minimum (minor units) in force when the referee joined: the terms they were offered.
    min_order_minor: int = 0
    # The referee's first qualifying purchase, and the end of its return window.
    order_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    )
    qualifies_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    # The moment the return window cleared; its week decides the referrer's weekly cap.
    converted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # False for a conversion beyond the referrer's weekly cap: recorded, not rewarded.
    rewarded: bool = False
    referrer_points: int = 0
    referee_points: int = 0
