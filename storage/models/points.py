"""The points ledger (append-only; balances are derived) and coupons handed to customers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class PointsEntry(SQLModel, table=True):
    __tablename__ = "points_ledger"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    # Positive to earn, negative to spend or reverse.
    delta: int
    # earn, welcome, redeem, reverse, expire, referral, birthday, survey, adjust
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    # Makes every award idempotent: "order:<id>", "birthday:<year>:<customer>", ...
    idempotency_key: str = Field(sa_column=Column(String(160), nullable=False, unique=True))
    order_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    )
    # Earned points are pending (not spendable) until this moment, e.g. the end of the return window.
    available_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    note: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Coupon(SQLModel, table=True):
    __tablename__ = "coupons"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    customer_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    )
    # reward, winback, referral, birthday, ...
    source: str = Field(sa_column=Column(String(16), nullable=False))
    # What the coupon gives, as shown to the customer and the till, e.g. "10%" or "5.00 USD".
    benefit: str = Field(max_length=64)
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(160), unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # Every coupon expires (the reward's validity); "expired" is not stored, it is expires_at <= now.
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # issued → used or void, once (storage/coupons.py: one guarded UPDATE each); nothing revives a coupon.
    state: str = Field(default="issued", sa_column=Column(String(8), nullable=False, server_default="issued"))
    # Smallest order (minor units) the coupon applies to, as the reward said when it was issued.
    min_order_minor: int | None = Field(default=None)
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    used_by: int | None = Field(default=None, sa_column=Column(BigInteger))  # the staff member's Telegram id
    voided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class RedeemToken(SQLModel, table=True):
    """A "Yes, redeem" button the bot issued: for one customer and reward, used once, until it expires.
    Its token is the button's data and the redemption's idempotency key (a double tap gets one coupon)."""

    __tablename__ = "redeem_tokens"

    token: str = Field(sa_column=Column(String(16), primary_key=True))
    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    reward_id: str = Field(sa_column=Column(String(24), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
