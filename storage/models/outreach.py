"""Outreach: the outbox every scheduled and bulk message goes through, merchant broadcasts, and the
customer's outreach preferences (when their birthday was last changed, their own time zone)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting for its due time (or for quiet hours / the frequency cap to pass)
    SENDING = "sending"  # claimed: committed before the send, so a crash leaves a trace
    SENT = "sent"
    BLOCKED = "blocked"  # Telegram answered 403: the customer blocked the bot
    FAILED = "failed"
    SKIPPED = "skipped"  # opted out, unreachable, forgotten or expired before it could go
    CANCELLED = "cancelled"  # broadcast stopped, or the customer bought (win-back)


class Campaign(StrEnum):
    BIRTHDAY = "birthday"
    WINBACK = "winback"
    BROADCAST = "broadcast"
    SURVEY = "survey"
    # A referral converted: the referrer's and the referee's notices (service messages, not marketing).
    REFERRAL = "referral"
    # A coupon still unused a few days before it expires (OUTREACH_COUPON_REMINDER_DAYS).
    COUPON_EXPIRY = "coupon_expiry"


# Campaigns that obey opt-out, quiet hours and the frequency cap (surveys have their own throttle).
MARKETING = (Campaign.BIRTHDAY, Campaign.WINBACK, Campaign.BROADCAST, Campaign.COUPON_EXPIRY)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        # Exactly one message per (customer, campaign, occurrence): re-running a sweep cannot add another.
        UniqueConstraint("customer_id", "campaign", "occurrence", name="uq_outbox_key"),
        Index("ix_outbox_state_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    campaign: str = Field(sa_column=Column(String(16), nullable=False))
    # Which instance of the campaign: the year of a birthday, "<last order date>:<stage>" of a win-back,
    # the broadcast id, the survey id.
    occurrence: str = Field(sa_column=Column(String(64), nullable=False))
    broadcast_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("broadcasts.id", ondelete="SET NULL"), index=True)
    )
    state: str = Field(default=OutboxState.PENDING, sa_column=Column(String(12), nullable=False))
    # Rendered HTML and inline keyboard JSON; erased by /forgetme.
    text: str | None = Field(default=None, sa_column=Column(Text))
    reply_markup: str | None = Field(default=None, sa_column=Column(Text))
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Each claim increments attempts; a row claimed more than once may have reached the customer twice.
    attempts: int = 0
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    # Why it was skipped or failed (opted_out, unreachable, expired, purchased, the Telegram error).
    outcome: str | None = Field(default=None, max_length=64)
    # For analytics: the first purchase within 14 days after a sent marketing message.
    converted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class BroadcastState(StrEnum):
    DRAFT = "draft"  # previewed, waiting for the merchant's confirmation
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(SQLModel, table=True):
    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    created_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    segment: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default=BroadcastState.DRAFT, sa_column=Column(String(12), nullable=False))
    recipients: int = 0
    # The merchant's message that shows progress (edited in place).
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class CustomerOutreach(SQLModel, table=True):
    __tablename__ = "customer_outreach"

    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    )
    # A birthday set or changed shortly before it earns no reward that year.
    birthday_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # IANA zone for this customer's quiet hours and birthday; null = the shop's.
    time_zone: str | None = Field(default=None, max_length=64)
