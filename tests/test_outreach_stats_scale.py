"""outreach_stats for a campaign larger than PostgreSQL's 32,767 bind parameters per statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from storage.models import Customer, Order, OutboxMessage, OutboxState
from storage.outreach_stats import outreach_stats

T0 = datetime(2026, 5, 4, 10, tzinfo=UTC)
CUSTOMERS = 33_000


async def test_a_winback_to_more_customers_than_bind_parameters(db):
    async with db.session() as session:
        await session.execute(
            insert(Customer),
            [
                {
                    "telegram_id": 10_000_000 + n,
                    "locale": "en",
                    "marketing_opt_in": True,
                    "reachable": True,
                    "created_at": T0 - timedelta(days=400),
                }
                for n in range(CUSTOMERS)
            ],
        )
        ids = list((await session.execute(select(Customer.id).order_by(Customer.id))).scalars())
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "customer_id": customer_id,
                    "campaign": "winback",
                    "occurrence": "2026-03-01:1",
                    "state": OutboxState.SENT,
                    "due_at": T0,
                    "sent_at": T0,
                    "attempts": 1,
                    "created_at": T0,
                }
                for customer_id in ids
            ],
        )
        # Every third customer came back within the 14 days; one more ordered too late to count.
        buyers = ids[::3]
        await session.execute(
            insert(Order),
            [
                {
                    "external_id": f"wb-{customer_id}",
                    "customer_id": customer_id,
                    "amount_minor": 1000,
                    "currency": "USD",
                    "source": "manual",
                    "status": "paid",
                    "created_at": T0,
                    "ordered_at": T0 + timedelta(days=3),
                }
                for customer_id in buyers
            ]
            + [
                {
                    "external_id": "late",
                    "customer_id": ids[1],
                    "amount_minor": 1000,
                    "currency": "USD",
                    "source": "manual",
                    "status": "paid",
                    "created_at": T0,
                    "ordered_at": T0 + timedelta(days=15),
                }
            ],
        )
    async with db.read_session() as session:
        stats = await outreach_stats(session, start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
    assert stats == {"winback": (CUSTOMERS, len(buyers)), "birthday": (0, 0)}
