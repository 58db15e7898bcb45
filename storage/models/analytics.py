"""Analytics rollups, kept up to date in the same transaction as every order change so /stats reads a few
small ranges instead of every order. Days are local dates in SHOP_TIMEZONE stored as proleptic ordinals
(date.toordinal()): integer arithmetic is the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel


class CustomerDay(SQLModel, table=True):
    """Paid orders of one customer on one local day, with the customer's previous and next order days."""

    __tablename__ = "analytics_customer_days"
    __table_args__ = (Index("ix_analytics_customer_days_day", "day", "prev_day", "next_day", "orders"),)

    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    )
    day: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    orders: int
    revenue_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    # None for the customer's first (prev) or latest (next) order day: lets "first order in a range" and
    # "last order before a moment" be plain range counts, without grouping by customer.
    prev_day: int | None = None
    next_day: int | None = None


class CustomerSummary(SQLModel, table=True):
    """One row per customer with at least one paid order."""

    __tablename__ = "analytics_customers"

    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    )
    first_day: int = Field(index=True)
    last_day: int
    orders: int
    revenue_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    # First-order month as year * 12 + month - 1 (local time).
    cohort: int = Field(index=True)


class ShopDay(SQLModel, table=True):
    """Shop-wide paid orders, revenue and first-time customers per local day."""

    __tablename__ = "analytics_days"

    day: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    orders: int = 0
    revenue_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    new_customers: int = 0


class CohortCell(SQLModel, table=True):
    """Customers of a first-order month (cohort) who ordered in a given month."""

    __tablename__ = "analytics_cohorts"

    cohort: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    month: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    customers: int = 0
