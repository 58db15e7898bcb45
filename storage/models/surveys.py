"""Surveys: every survey sent (with its answered and awaiting-reason state) and every response kept with its
type, score, reason and time."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class SurveyKind(StrEnum):
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"


class SurveyTrigger(StrEnum):
    PURCHASE = "purchase"  # CSAT some hours after a paid order
    PERIODIC = "periodic"  # NPS to active customers
    FAQ = "faq"  # CES after an FAQ answer
    HANDOFF = "handoff"  # CES after a conversation with the shop team
    MERCHANT = "merchant"  # /survey command


class SurveyState(StrEnum):
    SENDING = "sending"  # reserved (counts for throttling) while the message is on its way
    SENT = "sent"
    ANSWERED = "answered"
    FAILED = "failed"  # Telegram refused; does not count for throttling


class Survey(SQLModel, table=True):
    __tablename__ = "surveys"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    trigger: str = Field(sa_column=Column(String(16), nullable=False))
    # The purchase a CSAT survey asks about; unique so a purchase is surveyed at most once.
    order_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("orders.id", ondelete="SET NULL"), unique=True),
    )
    state: str = Field(default=SurveyState.SENDING, sa_column=Column(String(16), nullable=False))
    sent_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    # Taps after this moment are refused: the survey has closed.
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    score: int | None = None
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # While set and in the future, the customer's next free text is the "why?" of their score.
    awaiting_reason_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class SurveyResponse(SQLModel, table=True):
    __tablename__ = "survey_responses"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), index=True),
    )
    # Unique: one answer per survey sent, enforced by the database as well as by the tap handler.
    survey_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("surveys.id", ondelete="SET NULL"), unique=True, index=True),
    )
    kind: str = Field(sa_column=Column(String(8), nullable=False, index=True))
    score: int
    reason: str | None = Field(default=None, sa_column=Column(Text))
    answered_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
