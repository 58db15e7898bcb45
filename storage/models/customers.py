"""Customers: one row per shopper, linked to Telegram once they start the bot."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, String
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    # Null for shoppers known only from shop orders, and after /forgetme.
    telegram_id: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True, index=True))
    first_name: str | None = Field(default=None, max_length=128)
    last_name: str | None = Field(default=None, max_length=128)
    username: str | None = Field(default=None, max_length=64)
    locale: str = Field(default="en", sa_column=Column(String(2), nullable=False))
    phone: str | None = Field(default=None, max_length=32, index=True)
    birthday: date | None = None
    # Loyalty: the code shown on the member card, and the shop's own customer id once it is known.
    member_code: str | None = Field(default=None, sa_column=Column(String(16), unique=True, index=True))
    external_ref: str | None = Field(default=None, sa_column=Column(String(128), unique=True, index=True))
    marketing_opt_in: bool = True
    reachable: bool = True
    start_payload: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    opted_out_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    forgotten_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    @property
    def display_name(self) -> str:
        parts = [part for part in (self.first_name, self.last_name) if part]
        return " ".join(parts) or (f"@{self.username}" if self.username else f"#{self.id}")
