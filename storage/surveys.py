"""Survey queries: reserving a survey under the throttle, recording the one answer, the awaiting "why?",
and finding who is due for a purchase CSAT or a periodic NPS."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, and_, cast, exists, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Campaign,
    Customer,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxState,
    Survey,
    SurveyKind,
    SurveyResponse,
    SurveyState,
)
from storage.text import storable
from storage.typed import non_null, rowcount, table_of
from storage.upsert import dialect_insert

# Surveys that count for throttling: every one that reached, or may have reached, the customer.
COUNTED_STATES = (SurveyState.SENDING, SurveyState.SENT, SurveyState.ANSWERED)


def _contactable():
    """Customers we may send a survey to: linked to Telegram, opted in to marketing, not blocked."""
    return and_(
        col(Customer.telegram_id).is_not(None),
        col(Customer.marketing_opt_in).is_(True),
        col(Customer.reachable).is_(True),
    )


def _surveyed_since(kind: str, since: datetime):
    """EXISTS a counted survey of `kind` sent to the outer query's customer after `since`."""
    return exists().where(
        col(Survey.customer_id) == Customer.id,
        col(Survey.kind) == kind,
        col(Survey.state).in_(COUNTED_STATES),
        col(Survey.sent_at) > since,
    )


async def last_sent_at(session: AsyncSession, *, customer_id: int, kind: str) -> datetime | None:
    statement = (
        select(Survey.sent_at)
        .where(
            col(Survey.customer_id) == customer_id,
            col(Survey.kind) == kind,
            col(Survey.state).in_(COUNTED_STATES),
        )
        .order_by(col(Survey.sent_at).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def reserve_survey(
    session: AsyncSession,
    *,
    customer_id: int,
    kind: str,
    trigger: str,
    sent_at: datetime,
    expires_at: datetime,
    order_id: int | None = None,
) -> Survey | None:
    """Insert a survey in state `sending`; None when this order already has its survey."""
    statement = (
        dialect_insert(session, table_of(Survey))
        .values(
            customer_id=customer_id,
            kind=kind,
            trigger=trigger,
            order_id=order_id,
            state=SurveyState.SENDING,
            sent_at=sent_at,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=["order_id"])
        .returning(table_of(Survey).c.id)
    )
    survey_id = (await session.execute(statement)).scalar()
    if survey_id is None:
        return None
    return await session.get(Survey, survey_id)


async def mark_sent(
    session: AsyncSession, *, survey_id: int, chat_id: int | None, message_id: int | None
) -> None:
    await session.execute(
        update(Survey)
        .where(col(Survey.id) == survey_id, col(Survey.state) == SurveyState.SENDING)
        .values(state=SurveyState.SENT, chat_id=chat_id, message_id=message_id)
    )


async def mark_failed(session: AsyncSession, *, survey_id: int) -> None:
    """Nothing reached the customer: the survey stops counting, and its order may be surveyed on a retry."""
    await session.execute(
        update(Survey).where(col(Survey.id) == survey_id).values(state=SurveyState.FAILED, order_id=None)
    )


async def get_survey(session: AsyncSession, *, survey_id: int) -> Survey | None:
    return await session.get(Survey, survey_id)


async def lock_survey(session: AsyncSession, *, survey_id: int) -> Survey | None:
    """The survey, row-locked on PostgreSQL so two taps on it are handled one after the other."""
    return (await session.exec(select(Survey).where(col(Survey.id) == survey_id).with_for_update())).first()


async def record_answer(
    session: AsyncSession, *, survey: Survey, score: int, answered_at: datetime, reason_until: datetime
) -> bool:
    """Store the response and mark the survey answered; False (nothing changed) if it already was."""
    statement = (
        dialect_insert(session, table_of(SurveyResponse))
        .values(
            customer_id=survey.customer_id,
            survey_id=survey.id,
            kind=survey.kind,
            score=score,
            answered_at=answered_at,
        )
        .on_conflict_do_nothing(index_elements=["survey_id"])
    )
    if rowcount(await session.execute(statement)) != 1:
        return False
    survey.state = SurveyState.ANSWERED
    survey.score = score
    survey.answered_at = answered_at
    survey.awaiting_reason_until = reason_until
    session.add(survey)
    await session.flush()
    return True


async def awaiting_reason(
    session: AsyncSession,
    *,
    customer_id: int,
    now: datetime,
    survey_id: int | None = None,
    message_id: int | None = None,
    lock: bool = True,
) -> Survey | None:
    """The customer's most recent (or the given, or the one asked in `message_id`) survey still waiting for
    its "why?", locked unless `lock` is False (a look before deciding to write)."""
    statement = select(Survey).where(
        col(Survey.customer_id) == customer_id, col(Survey.awaiting_reason_until) > now
    )
    if survey_id is not None:
        statement = statement.where(col(Survey.id) == survey_id)
    if message_id is not None:
        statement = statement.where(col(Survey.message_id) == message_id)
    statement = statement.order_by(col(Survey.answered_at).desc()).limit(1)
    return (await session.exec(statement.with_for_update() if lock else statement)).first()


async def close_reason(session: AsyncSession, *, survey: Survey, reason: str | None) -> None:
    """Stop waiting for the "why?"; keep the reason when one was given (None = skipped)."""
    if reason is not None:
        await session.execute(
            update(SurveyResponse)
            .where(col(SurveyResponse.survey_id) == survey.id)
            .values(reason=storable(reason))  # a customer's words: NUL would fail on PostgreSQL
        )
    survey.awaiting_reason_until = None
    session.add(survey)
    await session.flush()


async def due_purchase_csat(
    session: AsyncSession,
    *,
    ordered_after: datetime,
    ordered_before: datetime,
    throttle_since: datetime,
    limit: int,
) -> list[tuple[int, int]]:
    """(order id, customer id) of paid orders in the window, not yet surveyed, customer CSAT-eligible."""
    statement = (
        select(non_null(Order.id), non_null(Customer.id))
        .join(Customer, col(Customer.id) == Order.customer_id)
        .where(
            col(Order.status) == OrderStatus.PAID,
            col(Order.ordered_at) > ordered_after,
            col(Order.ordered_at) <= ordered_before,
            _contactable(),
            ~exists().where(col(Survey.order_id) == Order.id),
            ~_surveyed_since(SurveyKind.CSAT, throttle_since),
        )
        .order_by(col(Order.ordered_at))
        .limit(limit)
    )
    return [(order_id, customer_id) for order_id, customer_id in (await session.exec(statement)).all()]


async def due_periodic_nps(
    session: AsyncSession,
    *,
    active_since: datetime,
    surveyed_since: datetime,
    quiet_since: datetime,
    csat_pending_since: datetime | None,
    limit: int,
) -> list[int]:
    """Customers who ordered since `active_since` and have had no NPS since `surveyed_since`.

    An NPS never lands next to a CSAT: customers with any survey since `quiet_since`, or an order since
    `csat_pending_since` (its CSAT comes first), wait for a later sweep.
    """

    def paid_order_since(moment: datetime):
        return exists().where(
            col(Order.customer_id) == Customer.id,
            col(Order.status) == OrderStatus.PAID,
            col(Order.ordered_at) > moment,
        )

    any_recent_survey = exists().where(
        col(Survey.customer_id) == Customer.id,
        col(Survey.state).in_(COUNTED_STATES),
        col(Survey.sent_at) > quiet_since,
    )
    conditions = [
        _contactable(),
        paid_order_since(active_since),
        ~_surveyed_since(SurveyKind.NPS, surveyed_since),
        ~any_recent_survey,
    ]
    if csat_pending_since is not None:
        conditions.append(~paid_order_since(csat_pending_since))
    statement = select(non_null(Customer.id)).where(*conditions).order_by(col(Customer.id)).limit(limit)
    return list((await session.exec(statement)).all())


async def contactable_customer_ids(session: AsyncSession) -> list[int]:
    """Everyone a shop-wide survey may go to (the rest are skipped before any query per customer)."""
    return list(
        (
            await session.exec(select(non_null(Customer.id)).where(_contactable()).order_by(col(Customer.id)))
        ).all()
    )


async def stuck_sending(
    session: AsyncSession, *, limit: int
) -> list[tuple[Survey, OutboxMessage | None, int | None]]:
    """Surveys still `sending`, locked, each with its outbox row (None if the bot died before queueing it)
    and the customer's Telegram id; oldest first."""
    statement = (
        select(Survey, OutboxMessage, Customer.telegram_id)
        .join(Customer, col(Customer.id) == Survey.customer_id)
        .outerjoin(
            OutboxMessage,
            and_(
                col(OutboxMessage.customer_id) == Survey.customer_id,
                col(OutboxMessage.campaign) == Campaign.SURVEY,
                col(OutboxMessage.occurrence) == cast(Survey.id, String),
            ),
        )
        .where(col(Survey.state) == SurveyState.SENDING)
        .order_by(col(Survey.sent_at), col(Survey.id))
        .limit(limit)
        .with_for_update(of=Survey, skip_locked=True)
    )
    return list((await session.exec(statement)).all())


async def cancel_outbox_row(session: AsyncSession, *, row: OutboxMessage, outcome: str) -> None:
    """Stop the outbox from (re)sending a survey question that is no longer wanted."""
    await session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == row.id,
            col(OutboxMessage.state).in_((OutboxState.PENDING, OutboxState.SENDING)),
        )
        .values(state=OutboxState.CANCELLED, outcome=outcome)
    )
