"""The store on SQLite and PostgreSQL: migrations match the models, writes are idempotent and lose nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.loyalty.balances import points_balance
from storage import customers
from storage.customers import TelegramProfile
from storage.migrate import schema_drift, upgrade_to_head
from storage.models import Customer
from storage.orders import record_order, refund_order
from storage.points import add_points, issue_coupon

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def test_migrations_match_the_models(db):
    assert await schema_drift(db) == []


async def test_migrating_twice_is_harmless(db):
    await upgrade_to_head(db)
    assert await schema_drift(db) == []


async def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(db):
    if not db.is_sqlite:
        pytest.skip("SQLite pragmas")
    async with db.read_session() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_datetimes_come_back_aware_utc(db):
    async with db.session() as session:
        customer, _ = await customers.ensure_customer(session, profile=TelegramProfile(1), locale="en")
        customer_id = customer.id
    async with db.read_session() as session:
        stored = await customers.get_customer_by_id(session, customer_id=customer_id)
    assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset() == timedelta(0)


async def test_racing_first_contacts_create_one_customer(db):
    async def first_contact():
        async with db.session() as session:
            _, created = await customers.ensure_customer(session, profile=TelegramProfile(42), locale="ar")
            return created

    results = await asyncio.gather(*(first_contact() for _ in range(10)))
    assert results.count(True) == 1
    async with db.read_session() as session:
        rows = (await session.execute(text("SELECT count(*) FROM customers"))).scalar()
    assert rows == 1


async def test_concurrent_read_modify_write_loses_no_update(db):
    """Twenty units of work each read a counter and write it back plus one."""
    async with db.session() as session:
        customer, _ = await customers.ensure_customer(session, profile=TelegramProfile(7), locale="en")
        customer_id = customer.id

    async def bump():
        async with db.session() as session:
            row = (
                await session.exec(
                    Customer.__table__.select().where(Customer.id == customer_id).with_for_update()
                )
            ).first()
            current = int(row.username or 0)
            await asyncio.sleep(0)
            await session.execute(
                Customer.__table__.update()
                .where(Customer.id == customer_id)
                .values(username=str(current + 1))
            )

    await asyncio.gather(*(bump() for _ in range(20)))
    async with db.read_session() as session:
        stored = await customers.get_customer_by_id(session, customer_id=customer_id)
    assert stored.username == "20"


async def test_orders_are_recorded_once_per_shop_order_id(db):
    async with db.session() as session:
        first, created = await record_order(
            session, external_id="1001", amount_minor=2500, currency="USD", ordered_at=NOW
        )
        again, created_again = await record_order(
            session, external_id="1001", amount_minor=9999, currency="USD", ordered_at=NOW
        )
    assert created and not created_again
    assert again.id == first.id and again.amount_minor == 2500
    async with db.session() as session:
        refunded, changed = await refund_order(session, external_id="1001", refunded_at=NOW)
        _, changed_again = await refund_order(session, external_id="1001", refunded_at=NOW)
    assert changed and not changed_again and refunded.status == "refunded"


async def test_negative_order_amount_is_refused(db):
    async with db.session() as session:
        with pytest.raises(ValueError):
            await record_order(session, external_id="x", amount_minor=-1, currency="USD", ordered_at=NOW)


async def test_points_are_awarded_once_per_key_and_pending_until_available(db):
    async with db.session() as session:
        customer, _ = await customers.ensure_customer(session, profile=TelegramProfile(9), locale="en")
        welcome = {
            "customer_id": customer.id,
            "delta": 50,
            "kind": "welcome",
            "key": "w:9",
            "available_at": NOW,
        }
        assert await add_points(session, **welcome)
        assert not await add_points(session, **welcome)
        await add_points(
            session,
            customer_id=customer.id,
            delta=30,
            kind="earn",
            key="order:1",
            available_at=NOW + timedelta(days=14),
        )
        balance = await points_balance(session, customer_id=customer.id, now=NOW + timedelta(days=1))
        later = await points_balance(session, customer_id=customer.id, now=NOW + timedelta(days=15))
    assert (balance.available, balance.pending) == (50, 30)
    assert later.available == 80 and later.pending == 0


async def test_coupons_have_unique_codes_and_are_idempotent_per_key(db):
    async with db.session() as session:
        coupon = {"customer_id": None, "source": "reward", "benefit": "10%", "expires_at": NOW}
        first = await issue_coupon(session, **coupon, key="r:1")
        again = await issue_coupon(session, **coupon, key="r:1")
        other = await issue_coupon(session, **coupon)
    assert first.code == again.code and first.code != other.code
    assert len(first.code) == 8 and not set(first.code) & set("01IO")
