"""The coupon lifecycle: issued (storage/points.py:issue_coupon) → used, or void; expired is derived
(expires_at <= now). Each change is one guarded UPDATE, so two tills or a till and a checkout racing for
the same coupon get one winner on SQLite and PostgreSQL alike, with no lock taken first. Nothing turns a
used or void coupon back into an issued one (a refund of the order that used it leaves it used)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Coupon
from storage.typed import rowcount

ISSUED, USED, VOID = "issued", "used", "void"


async def unused_coupons(session: AsyncSession, *, customer_id: int, now: datetime) -> list[Coupon]:
    """The customer's coupons still to be used: issued, not yet expired; soonest to expire first."""
    result = await session.exec(
        select(Coupon)
        .where(
            col(Coupon.customer_id) == customer_id,
            col(Coupon.state) == ISSUED,
            col(Coupon.expires_at) > now,
        )
        .order_by(col(Coupon.expires_at), col(Coupon.id))
    )
    return list(result.all())


async def coupons_expiring(session: AsyncSession, *, now: datetime, until: datetime) -> list[Coupon]:
    """Customers' coupons still to be used that expire after `now` and by `until`: the ones the expiry
    reminder is about."""
    result = await session.exec(
        select(Coupon)
        .where(
            col(Coupon.customer_id).is_not(None),
            col(Coupon.state) == ISSUED,
            col(Coupon.expires_at) > now,
            col(Coupon.expires_at) <= until,
        )
        .order_by(col(Coupon.id))
    )
    return list(result.all())


async def unused_coupon(
    session: AsyncSession, *, customer_id: int, coupon_id: int, now: datetime
) -> Coupon | None:
    """This customer's coupon of that id while it is still to be used; None for anyone else's, a used, void
    or expired one, or no such coupon."""
    result = await session.exec(
        select(Coupon).where(
            col(Coupon.id) == coupon_id,
            col(Coupon.customer_id) == customer_id,
            col(Coupon.state) == ISSUED,
            col(Coupon.expires_at) > now,
        )
    )
    return result.first()


async def coupon_by_code(session: AsyncSession, *, code: str) -> Coupon | None:
    return (await session.exec(select(Coupon).where(col(Coupon.code) == code))).first()


async def mark_used(session: AsyncSession, *, code: str, now: datetime, used_by: int | None = None) -> bool:
    """Use the coupon once: True for the one call that changed it from issued (and unexpired) to used;
    False when it is unknown, already used, void or expired (nothing changes then)."""
    statement = (
        update(Coupon)
        .where(col(Coupon.code) == code, col(Coupon.state) == ISSUED, col(Coupon.expires_at) > now)
        .values(state=USED, used_at=now, used_by=used_by)
        .execution_options(synchronize_session=False)
    )
    return rowcount(await session.execute(statement)) == 1


async def void_coupon(session: AsyncSession, *, code: str, now: datetime) -> bool:
    """Withdraw an unused coupon (issued in error, its reward taken back): True if it was issued and is now
    void; a used or already void coupon stays as it is."""
    statement = (
        update(Coupon)
        .where(col(Coupon.code) == code, col(Coupon.state) == ISSUED)
        .values(state=VOID, voided_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(await session.execute(statement)) == 1
