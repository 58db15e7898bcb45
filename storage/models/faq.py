"""FAQ entries per locale, customers' votes on answers, questions that found no answer, and hand-off
conversations with the shop team."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class FaqEntry(SQLModel, table=True):
    __tablename__ = "faq_entries"
    __table_args__ = (UniqueConstraint("code", "locale", name="uq_faq_entries_code_locale"),)

    id: int | None = Field(default=None, primary_key=True)
    # The staff shortcode (/r <code>), shared by the entry's translations.
    code: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    locale: str = Field(sa_column=Column(String(2), nullable=False))
    question: str = Field(sa_column=Column(Text, nullable=False))
    # Alternative phrasings customers use, one per line.
    phrasings: str = Field(default="", sa_column=Column(Text, nullable=False))
    answer: str = Field(sa_column=Column(Text, nullable=False))
    # How often the entry was shown (the "Did this help?" votes are rows of faq_votes).
    hits: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    @property
    def phrasing_list(self) -> list[str]:
        return [line.strip() for line in self.phrasings.splitlines() if line.strip()]


class FaqAnswerVote(SQLModel, table=True):
    """A customer's "Did this help?" on one answer message: one row per customer and message, so a double
    tap counts once and a second tap changes the vote instead of adding one."""

    __tablename__ = "faq_votes"
    __table_args__ = (
        UniqueConstraint("customer_id", "chat_id", "message_id", name="uq_faq_votes_customer_message"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("faq_entries.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    )
    # The answer message; /forgetme erases the chat (a private chat's id is the person's Telegram id).
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    helpful: bool = Field(sa_column=Column(Boolean, nullable=False))
    voted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class FaqMeta(SQLModel, table=True):
    """Small facts about the FAQ store; key "seeded" records that the FAQ file was loaded once."""

    __tablename__ = "faq_meta"

    key: str = Field(sa_column=Column(String(32), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))


class FaqGap(SQLModel, table=True):
    """A customer question that matched no entry. /faq gaps never shows who asked."""

    __tablename__ = "faq_gaps"

    id: int | None = Field(default=None, primary_key=True)
    # Who asked, kept only so /forgetme can erase their questions (the text may hold a phone, an address).
    customer_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), index=True),
    )
    locale: str = Field(sa_column=Column(String(2), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    # The normalized form, so "Where is X?" and "where is x" are counted together.
    normalized: str = Field(sa_column=Column(Text, nullable=False))
    asked_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


class HandoffState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Handoff(SQLModel, table=True):
    """A conversation between a customer and the shop team, relayed by the bot."""

    __tablename__ = "handoffs"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    # Equal to customer_id while open, null once closed: the unique index allows one open conversation
    # per customer on SQLite and PostgreSQL alike.
    open_customer_id: int | None = Field(default=None, sa_column=Column(Integer, unique=True))
    state: str = Field(default=HandoffState.OPEN, sa_column=Column(String(8), nullable=False))
    opened_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_activity_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    closed_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    # The staff member who answered first holds the conversation (Telegram id and name, shown to the others).
    held_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    held_by_name: str | None = Field(default=None, sa_column=Column(String(64)))


class HandoffMessage(SQLModel, table=True):
    """A message the bot relayed into a support chat; staff reply to it to answer that conversation."""

    __tablename__ = "handoff_messages"
    __table_args__ = (UniqueConstraint("chat_id", "message_id", name="uq_handoff_messages_chat_message"),)

    id: int | None = Field(default=None, primary_key=True)
    handoff_id: int = Field(
        sa_column=Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
