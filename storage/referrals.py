"""Referral queries: invitation codes, attribution, the purchase that qualifies, conversion and statistics.

Every state change is a single conditional UPDATE or INSERT … ON CONFLICT, so concurrent units of work
cannot attribute a customer twice or move a referral backwards.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Customer, Order, OrderStatus, Referral, ReferralCode, ReferralStatus
from storage.points import COUPON_ALPHABET, lock_customer
from storage.typed import non_null, rowcount, saved_id, table_of
from storage.types import utcnow
from storage.upsert import dialect_insert

CODE_LENGTH = 8


@dataclass(frozen=True)
class ReferrerStats:
    invited: int
    converted: int
    points: int


@dataclass(frozen=True)
class TopReferrer:
    customer_id: int
    name: str
    invited: int
    converted: int
    points: int


async def ensure_referral_code(session: AsyncSession, *, customer_id: int) -> str:
    """The customer's invitation code, created once; a clash with another code is retried."""
    while True:
        existing = (
            await session.exec(select(ReferralCode.code).where(col(ReferralCode.customer_id) == customer_id))
        ).first()
        if existing is not None:
            return existing
        code = "".join(secrets.choice(COUPON_ALPHABET) for _ in range(CODE_LENGTH))
        # Conflicts on either the customer (a racing first call) or the code (a clash) insert nothing;
        # the loop then returns the winner's code or tries a new one.
        await session.execute(
            dialect_insert(session, table_of(ReferralCode))
            .values(customer_id=customer_id, code=code, created_at=utcnow())
            .on_conflict_do_nothing()
        )


async def find_referrer(session: AsyncSession, *, code: str) -> Customer | None:
    """The customer whose invitation code this is (never a forgotten one)."""
    result = await session.exec(
        select(Customer)
        .join(ReferralCode, col(ReferralCode.customer_id) == col(Customer.id))
        .where(col(ReferralCode.code) == code, col(Customer.forgotten_at).is_(None))
    )
    return result.first()


async def referral_of(session: AsyncSession, *, referee_id: int) -> Referral | None:
    result = await session.exec(select(Referral).where(col(Referral.referee_id) == referee_id))
    return result.first()


async def has_ordered(session: AsyncSession, *, customer_id: int, refs: set[str]) -> bool:
    """Any order of this customer, linked or still waiting under one of their references."""
    conditions = [col(Order.customer_id) == customer_id]
    if refs:
        conditions.append(and_(col(Order.customer_id).is_(None), col(Order.customer_ref).in_(refs)))
    result = await session.exec(select(Order.id).where(or_(*conditions)).limit(1))
    return result.first() is not None


async def attribute(
    session: AsyncSession, *, referrer_id: int, referee_id: int, now: datetime, min_order_minor: int
) -> bool:
    """Record that the referee joined through the referrer's link; False if they already have a referrer."""
    statement = (
        dialect_insert(session, table_of(Referral))
        .values(
            referrer_id=referrer_id,
            referee_id=referee_id,
            status=ReferralStatus.ATTRIBUTED,
            attributed_at=now,
            min_order_minor=min_order_minor,
            rewarded=False,
            referrer_points=0,
            referee_points=0,
        )
        .on_conflict_do_nothing(index_elements=["referee_id"])
    )
    return rowcount(await session.execute(statement)) == 1


def _ordered_before_joining():
    """The referee has an order placed before they were attributed: not a new customer after all."""
    return (
        select(Order.id)
        .where(
            col(Order.customer_id) == col(Referral.referee_id),
            col(Order.ordered_at) < col(Referral.attributed_at),
        )
        .exists()
    )


async def cancel_prior_buyers(session: AsyncSession, *, now: datetime) -> int:
    """Cancel open referrals of referees found to have ordered before joining: orders filed under their
    phone or shop id are only linked to them later, after the /start check could see them."""
    result = await session.execute(
        update(Referral)
        .where(
            col(Referral.status).in_((ReferralStatus.ATTRIBUTED, ReferralStatus.PENDING)),
            _ordered_before_joining(),
        )
        .values(status=ReferralStatus.CANCELLED, cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def mark_pending(
    session: AsyncSession,
    *,
    referee_id: int,
    order_id: int,
    amount_minor: int,
    ordered_at: datetime,
    qualifies_at: datetime,
) -> bool:
    """The referee's first qualifying purchase: only for an attributed referral, only an order placed after
    joining and of at least the minimum they were offered."""
    result = await session.execute(
        update(Referral)
        .where(
            col(Referral.referee_id) == referee_id,
            col(Referral.status) == ReferralStatus.ATTRIBUTED,
            col(Referral.attributed_at) <= ordered_at,
            col(Referral.min_order_minor) <= amount_minor,
            ~_ordered_before_joining(),
        )
        .values(status=ReferralStatus.PENDING, order_id=order_id, qualifies_at=qualifies_at)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def referees_awaiting_purchase(session: AsyncSession, *, customer_ids: list[int]) -> set[int]:
    """Which of these customers are the referee of an attributed referral: the only ones whose new orders
    `mark_pending` can act on (an import batch skips the referral listener for the others)."""
    found: set[int] = set()
    for start in range(0, len(customer_ids), 5000):
        rows = await session.exec(
            select(non_null(Referral.referee_id)).where(
                col(Referral.referee_id).in_(customer_ids[start : start + 5000]),
                col(Referral.status) == ReferralStatus.ATTRIBUTED,
            )
        )
        found.update(rows.all())
    return found


async def cancel_for_refund(session: AsyncSession, *, order_id: int, refunded_at: datetime) -> bool:
    """A refund of the qualifying purchase within its return window cancels the referral for good."""
    result = await session.execute(
        update(Referral)
        .where(
            col(Referral.order_id) == order_id,
            col(Referral.status) == ReferralStatus.PENDING,
            col(Referral.qualifies_at) > refunded_at,
        )
        .values(status=ReferralStatus.CANCELLED, cancelled_at=refunded_at)
    )
    return rowcount(result) == 1


async def qualifying_orders(session: AsyncSession, *, limit: int) -> list[tuple[int, Order]]:
    """(referee id, order) of paid orders that could qualify an attributed referral, oldest
    first: catches orders that reached a referee without the purchase listener (late linking, CSV)."""
    result = await session.exec(
        select(non_null(Referral.referee_id), Order)
        .join(Order, col(Order.customer_id) == col(Referral.referee_id))
        .where(
            col(Referral.status) == ReferralStatus.ATTRIBUTED,
            col(Order.status) == OrderStatus.PAID,
            col(Order.amount_minor) >= col(Referral.min_order_minor),
            col(Order.ordered_at) >= col(Referral.attributed_at),
        )
        .order_by(col(Order.ordered_at), col(Order.id))
        .limit(limit)
    )
    return [(referee_id, order) for referee_id, order in result.all()]


async def due_referrals(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Pending referrals whose return window has ended, oldest first."""
    result = await session.exec(
        select(non_null(Referral.id))
        .where(col(Referral.status) == ReferralStatus.PENDING, col(Referral.qualifies_at) <= now)
        .order_by(col(Referral.qualifies_at), col(Referral.id))
        .limit(limit)
    )
    return list(result.all())


async def lock_referral(session: AsyncSession, *, referral_id: int) -> Referral | None:
    """The referral, row-locked on PostgreSQL and re-read even if this session has seen it before."""
    result = await session.exec(
        select(Referral)
        .where(col(Referral.id) == referral_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.first()


async def rewarded_in_week(session: AsyncSession, *, referrer_id: int, start: datetime, end: datetime) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(Referral)
        .where(
            col(Referral.referrer_id) == referrer_id,
            col(Referral.rewarded).is_(True),
            col(Referral.converted_at) >= start,
            col(Referral.converted_at) < end,
        )
    )
    return int(result.one())


async def referrer_stats(session: AsyncSession, *, referrer_id: int) -> ReferrerStats:
    """All-time figures for /referral: friends invited, converted, points earned."""
    converted = col(Referral.status) == ReferralStatus.CONVERTED
    result = await session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(case((converted, 1), else_=0)), 0),
            func.coalesce(func.sum(Referral.referrer_points), 0),
        ).where(col(Referral.referrer_id) == referrer_id)
    )
    invited, converted_count, points = result.one()
    return ReferrerStats(int(invited), int(converted_count), int(points))


def _in(column, start: datetime, end: datetime):
    return and_(column >= start, column < end)


async def referral_counts(session: AsyncSession, *, start: datetime, end: datetime) -> tuple[int, int]:
    """(referees attributed in [start, end), referrals converted in [start, end)), forgotten ones included."""
    converted = and_(
        col(Referral.status) == ReferralStatus.CONVERTED, _in(col(Referral.converted_at), start, end)
    )
    result = await session.exec(
        select(
            func.coalesce(func.sum(case((_in(col(Referral.attributed_at), start, end), 1), else_=0)), 0),
            func.coalesce(func.sum(case((converted, 1), else_=0)), 0),
        )
    )
    invited, converted_count = result.one()
    return int(invited), int(converted_count)


async def top_referrers(
    session: AsyncSession, *, start: datetime, end: datetime, limit: int = 10
) -> list[TopReferrer]:
    """Referrers by conversions, then invitations, in [start, end): friends attributed in the period,
    referrals converted in the period and the points those conversions earned the referrer."""
    invited_in = _in(col(Referral.attributed_at), start, end)
    converted_in = and_(
        col(Referral.status) == ReferralStatus.CONVERTED, _in(col(Referral.converted_at), start, end)
    )
    invited = func.sum(case((invited_in, 1), else_=0)).label("invited")
    converted = func.sum(case((converted_in, 1), else_=0)).label("converted")
    points = func.sum(case((converted_in, Referral.referrer_points), else_=0)).label("points")
    figures = (
        select(col(Referral.referrer_id).label("referrer_id"), invited, converted, points)
        .where(col(Referral.referrer_id).is_not(None), or_(invited_in, converted_in))
        .group_by(col(Referral.referrer_id))
        .subquery()
    )
    result = await session.exec(
        select(Customer, figures.c.invited, figures.c.converted, figures.c.points)
        .join(figures, figures.c.referrer_id == col(Customer.id))
        .order_by(
            figures.c.converted.desc(), figures.c.invited.desc(), figures.c.points.desc(), col(Customer.id)
        )
        .limit(limit)
    )
    return [
        TopReferrer(saved_id(customer), customer.display_name, int(inv), int(conv), int(pts))
        for customer, inv, conv, pts in result.all()
    ]


async def forget_referrals(session: AsyncSession, *, customer_id: int) -> None:
    """/forgetme: drop the code and unlink the customer from every referral; anonymous rows stay counted."""
    # The customer before their referral rows: the order the conversion sweep locks in, so no deadlock.
    await lock_customer(session, customer_id=customer_id)
    await session.execute(delete(ReferralCode).where(col(ReferralCode.customer_id) == customer_id))
    await session.execute(
        update(Referral).where(col(Referral.referrer_id) == customer_id).values(referrer_id=None)
    )
    await session.execute(
        update(Referral).where(col(Referral.referee_id) == customer_id).values(referee_id=None)
    )
