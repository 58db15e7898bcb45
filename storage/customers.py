"""Customer queries: registration, preferences, reachability and erasure."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.faq import forget_gaps
from storage.faq_votes import forget_votes
from storage.handoff import close_for_forgotten
from storage.models import Customer, Order, Survey, SurveyResponse
from storage.outbox import forget_outreach
from storage.points import new_member_code, remember_forgotten_welcome
from storage.referrals import forget_referrals
from storage.typed import rowcount, saved_id
from storage.types import utcnow
from storage.upsert import dialect_insert


@dataclass(frozen=True)
class TelegramProfile:
    """What Telegram tells us about a user; kept free of telegram types so storage stays standalone."""

    telegram_id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None


async def get_customer(session: AsyncSession, *, telegram_id: int) -> Customer | None:
    result = await session.exec(select(Customer).where(col(Customer.telegram_id) == telegram_id))
    return result.first()


async def get_customer_by_id(session: AsyncSession, *, customer_id: int) -> Customer | None:
    return await session.get(Customer, customer_id)


MEMBER_CODE_TRIES = 5


async def ensure_customer(
    session: AsyncSession,
    *,
    profile: TelegramProfile,
    locale: str,
    start_payload: str | None = None,
    member_code: bool = False,
) -> tuple[Customer, bool]:
    """Return the customer for this Telegram user, creating it on first contact; (customer, created).
    `member_code`: a new customer gets their member code in the same INSERT (they are joining).

    The insert is ON CONFLICT DO NOTHING, so two racing first updates create one row. Without a target,
    as the member code is unique too: nothing inserted and no customer found means the new code was
    taken, and another one is tried.
    """
    now = utcnow()
    for _ in range(MEMBER_CODE_TRIES):
        statement = (
            dialect_insert(session, Customer)  # the ORM entity: RETURNING gives the new row as a Customer
            .values(
                telegram_id=profile.telegram_id,
                first_name=profile.first_name,
                last_name=profile.last_name,
                username=profile.username,
                locale=locale,
                start_payload=start_payload,
                member_code=new_member_code() if member_code else None,
                marketing_opt_in=True,
                reachable=True,
                created_at=now,
                last_seen_at=now,
            )
            .on_conflict_do_nothing()
            .returning(Customer)
        )
        created = (await session.scalars(statement)).first()
        if created is not None:
            return created, True
        customer = await get_customer(session, telegram_id=profile.telegram_id)  # it was there already
        if customer is not None:
            return customer, False
    raise RuntimeError(f"customer {profile.telegram_id} missing after {MEMBER_CODE_TRIES} upserts")


def profile_changed(customer: Customer, profile: TelegramProfile) -> bool:
    """Telegram shows a name or username other than the stored one (so the row needs a write)."""
    stored = (customer.first_name, customer.last_name, customer.username)
    return stored != (profile.first_name, profile.last_name, profile.username)


async def refresh_profile(session: AsyncSession, *, customer: Customer, profile: TelegramProfile) -> None:
    customer.first_name = profile.first_name
    customer.last_name = profile.last_name
    customer.username = profile.username
    session.add(customer)
    await session.flush()


async def rejoin(session: AsyncSession, *, customer: Customer) -> None:
    """/start from a known customer: opted back in to marketing, reachable again, seen now."""
    customer.marketing_opt_in = True
    customer.opted_out_at = None
    customer.reachable = True
    customer.last_seen_at = utcnow()
    session.add(customer)
    await session.flush()


async def set_locale(session: AsyncSession, *, telegram_id: int, locale: str) -> bool:
    result = await session.execute(
        update(Customer).where(col(Customer.telegram_id) == telegram_id).values(locale=locale)
    )
    return rowcount(result) == 1


async def set_marketing_opt_in(session: AsyncSession, *, telegram_id: int, opt_in: bool) -> bool:
    values = {"marketing_opt_in": opt_in, "opted_out_at": None if opt_in else utcnow()}
    result = await session.execute(
        update(Customer).where(col(Customer.telegram_id) == telegram_id).values(**values)
    )
    return rowcount(result) == 1


async def set_reachable(session: AsyncSession, *, telegram_id: int, reachable: bool) -> bool:
    result = await session.execute(
        update(Customer).where(col(Customer.telegram_id) == telegram_id).values(reachable=reachable)
    )
    return rowcount(result) == 1


async def forget_customer(session: AsyncSession, *, telegram_id: int) -> bool:
    """Erase personal data but keep the anonymous row, so shop-wide figures stay correct."""
    customer = await get_customer(session, telegram_id=telegram_id)
    if customer is None:
        return False
    customer_id = saved_id(customer)
    await session.execute(
        update(SurveyResponse).where(col(SurveyResponse.customer_id) == customer.id).values(reason=None)
    )
    await forget_referrals(session, customer_id=customer_id)
    # How the shop named them (phone, shop customer id) stays on linked orders, and a survey's chat id is
    # their Telegram id: both identify the person, while the amounts and scores alone do not.
    await session.execute(
        update(Order).where(col(Order.customer_id) == customer.id).values(customer_ref=None)
    )
    await session.execute(
        update(Survey)
        .where(col(Survey.customer_id) == customer.id)
        .values(chat_id=None, message_id=None, awaiting_reason_until=None)
    )
    await remember_forgotten_welcome(session, customer_id=customer_id, telegram_id=telegram_id)
    await forget_outreach(session, customer_id=customer_id)
    await forget_gaps(session, customer_id=customer_id)
    await forget_votes(session, customer_id=customer_id)
    await close_for_forgotten(session, customer_id=customer_id, now=utcnow())
    customer.telegram_id = None
    customer.first_name = None
    customer.last_name = None
    customer.username = None
    customer.phone = None
    customer.member_code = None
    customer.external_ref = None
    customer.birthday = None
    customer.start_payload = None
    customer.marketing_opt_in = False
    customer.reachable = False
    customer.forgotten_at = utcnow()
    session.add(customer)
    await session.flush()
    return True
