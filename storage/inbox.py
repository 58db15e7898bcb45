"""What a customer's next free text may be the answer to, in one statement: the text router asks this
before offering the text to the features (an open hand-off takes it, a survey awaiting its "why?" may),
so the common case, a question with nothing pending, costs one look instead of one per feature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Handoff, Survey
from storage.typed import table_of


@dataclass(frozen=True)
class Waiting:
    handoff: bool  # a conversation with the shop team is open
    survey: bool  # a survey waits for its "why?" (the surveys feature decides whether this text is it)


@cache
def _waiting() -> Any:
    customer: Any = bindparam("customer_id")
    until = table_of(Survey).c.awaiting_reason_until
    return select(
        exists().where(col(Handoff.open_customer_id) == customer),
        exists().where(col(Survey.customer_id) == customer, until > bindparam("now", type_=until.type)),
    )


async def waiting_for(session: AsyncSession, *, customer_id: int, now: datetime) -> Waiting:
    row = (await session.execute(_waiting(), {"customer_id": customer_id, "now": now})).one()
    return Waiting(handoff=bool(row[0]), survey=bool(row[1]))
