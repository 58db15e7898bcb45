"""outreach_stats for a campaign larger than PostgreSQL's 32,767 bind parameters per statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, String, cast, func, insert, literal, literal_column, select, text

from storage.models import Customer, Order, OutboxMessage, OutboxState
from storage.outreach_stats import outreach_stats
from storage.types import UTCDateTime

T0 = datetime(2026, 5, 4, 10, tzinfo=UTC)
CUSTOMERS = 33_000
FIRST_TELEGRAM_ID = 10_000_000


def _at(value: datetime):
    return literal(value, UTCDateTime())


def _numbers(count: int):
    """0 … count-1 as a recursive CTE: the rows are made by the database in one statement each, not
    bound one parameter at a time from Python (which cost seconds for 77,000 rows)."""
    seq = select(literal_column("0", Integer).label("n")).cte("seq", recursive=True)
    return seq.union_all(select(seq.c.n + 1).where(seq.c.n < count - 1))


@pytest.fixture
async def big(db):
    """The test's database, its 77,000 rows emptied afterwards with TRUNCATE on PostgreSQL: the next test's
    fixture empties tables with DELETE, quick for the few rows a test writes but seconds for these."""
    yield db
    if not db.is_sqlite:
        async with db.engine.begin() as connection:
            await connection.execute(text("TRUNCATE customers, outbox, orders CASCADE"))


async def test_a_winback_to_more_customers_than_bind_parameters(big):
    db = big
    seq = _numbers(CUSTOMERS)
    customer = Customer.__table__.c
    async with db.session() as session:
        await session.execute(
            insert(Customer).from_select(
                ["telegram_id", "locale", "marketing_opt_in", "reachable", "created_at"],
                select(
                    seq.c.n + FIRST_TELEGRAM_ID,
                    literal("en"),
                    literal(True),
                    literal(True),
                    _at(T0 - timedelta(days=400)),
                ),
            )
        )
        await session.execute(
            insert(OutboxMessage).from_select(
                [
                    "customer_id",
                    "campaign",
                    "occurrence",
                    "state",
                    "due_at",
                    "sent_at",
                    "attempts",
                    "created_at",
                ],
                select(
                    customer.id,
                    literal("winback"),
                    literal("2026-03-01:1"),
                    literal(str(OutboxState.SENT)),
                    _at(T0),
                    _at(T0),
                    literal(1),
                    _at(T0),
                ),
            )
        )
        # Every third customer came back within the 14 days; one more ordered too late to count.
        buyer = (customer.telegram_id - FIRST_TELEGRAM_ID) % 3 == 0
        await session.execute(
            insert(Order).from_select(
                "external_id customer_id amount_minor currency source status created_at ordered_at".split(),
                select(
                    literal("wb-") + cast(customer.id, String),
                    customer.id,
                    literal(1000),
                    literal("USD"),
                    literal("manual"),
                    literal("paid"),
                    _at(T0),
                    _at(T0 + timedelta(days=3)),
                ).where(buyer),
            )
        )
        late_id = (
            await session.execute(select(customer.id).where(customer.telegram_id == FIRST_TELEGRAM_ID + 1))
        ).scalar_one()
        session.add(
            Order(
                external_id="late",
                customer_id=late_id,
                amount_minor=1000,
                currency="USD",
                source="manual",
                status="paid",
                created_at=T0,
                ordered_at=T0 + timedelta(days=15),
            )
        )
        counts = (
            await session.execute(
                select(func.count(customer.id), func.count(customer.id).filter(buyer)).select_from(
                    Customer.__table__
                )
            )
        ).one()
    if not db.is_sqlite:
        # What autovacuum does to a real database after such a load. Without statistics on the fresh rows
        # PostgreSQL plans the stats query for empty tables and takes seconds.
        async with db.engine.begin() as connection:  # committed: a rolled-back ANALYZE keeps no statistics
            await connection.execute(text("ANALYZE customers, outbox, orders"))
    buyers = (CUSTOMERS + 2) // 3
    assert tuple(counts) == (CUSTOMERS, buyers)  # the rows were made as meant
    async with db.read_session() as session:
        stats = await outreach_stats(session, start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
    assert stats == {"winback": (CUSTOMERS, buyers), "birthday": (0, 0)}
