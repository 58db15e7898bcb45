"""FAQ queries: entries per locale, seeding once from the FAQ file, and unanswered questions (votes:
storage/faq_votes.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, update
from sqlalchemy import select as sa_select  # sqlmodel.select is typed for at most four columns
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import FaqEntry, FaqGap, FaqMeta
from storage.text import storable
from storage.typed import rowcount, saved_id, table_of
from storage.upsert import dialect_insert

SEEDED = "seeded"


@dataclass(frozen=True)
class EntryData:
    code: str
    locale: str
    question: str
    phrasings: tuple[str, ...]
    answer: str


async def seed_once(
    session: AsyncSession, *, entries: Iterable[EntryData], source: str, now: datetime
) -> bool:
    """Load `entries` unless the store was seeded before; True when this call seeded it.

    The marker row is inserted first with ON CONFLICT DO NOTHING, in the same transaction as the entries, so
    racing first starts seed once, and a FAQ the merchants emptied on purpose is never refilled.
    """
    marker = (
        dialect_insert(session, table_of(FaqMeta))
        .values(key=SEEDED, value=f"{source} at {now.isoformat()}")
        .on_conflict_do_nothing(index_elements=["key"])
    )
    if rowcount(await session.execute(marker)) != 1:
        return False
    for data in entries:
        await upsert_entry(session, data=data, now=now)
    return True


async def upsert_entry(session: AsyncSession, *, data: EntryData, now: datetime) -> None:
    """Insert the entry, or replace the texts of the entry with the same code and locale."""
    texts = {  # a merchant's typing (the FAQ editor) or a file: NUL would fail on PostgreSQL
        "question": storable(data.question),
        "phrasings": storable("\n".join(data.phrasings)),
        "answer": storable(data.answer),
    }
    statement = (
        dialect_insert(session, table_of(FaqEntry))
        .values(code=data.code, locale=data.locale, hits=0, updated_at=now, **texts)
        .on_conflict_do_update(index_elements=["code", "locale"], set_={**texts, "updated_at": now})
    )
    await session.execute(statement)


async def list_entries(session: AsyncSession, *, locale: str | None = None) -> list[FaqEntry]:
    statement = select(FaqEntry).order_by(FaqEntry.code, FaqEntry.locale)
    if locale is not None:
        statement = statement.where(col(FaqEntry.locale) == locale)
    return list((await session.exec(statement)).all())


async def top_entries(session: AsyncSession, *, locale: str, limit: int) -> list[FaqEntry]:
    """The most asked entries of a locale (file order, i.e. id, breaks ties)."""
    statement = (
        select(FaqEntry)
        .where(col(FaqEntry.locale) == locale)
        .order_by(col(FaqEntry.hits).desc(), col(FaqEntry.id))
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def get_entry(session: AsyncSession, *, entry_id: int) -> FaqEntry | None:
    return await session.get(FaqEntry, entry_id)


async def entry_by_code(session: AsyncSession, *, code: str, locale: str) -> FaqEntry | None:
    """The entry with this shortcode in `locale`, else in any locale."""
    rows = (await session.exec(select(FaqEntry).where(col(FaqEntry.code) == code.lower()))).all()
    preferred = [row for row in rows if row.locale == locale]
    candidates = preferred or list(rows)
    return candidates[0] if candidates else None


async def update_entry(
    session: AsyncSession,
    *,
    entry_id: int,
    question: str,
    phrasings: Iterable[str],
    answer: str,
    now: datetime,
) -> bool:
    result = await session.execute(
        update(FaqEntry)
        .where(col(FaqEntry.id) == entry_id)
        .values(
            question=storable(question),
            phrasings=storable("\n".join(phrasings)),
            answer=storable(answer),
            updated_at=now,
        )
    )
    return rowcount(result) == 1


async def delete_entry(session: AsyncSession, *, entry_id: int) -> bool:
    entry = await session.get(FaqEntry, entry_id)
    if entry is None:
        return False
    await session.delete(entry)
    await session.flush()
    return True


async def add_hits(session: AsyncSession, *, counts: dict[int, int]) -> None:
    """Add answers counted in memory since the last flush (one UPDATE per entry; deleted ones are skipped)."""
    for entry_id, count in sorted(counts.items()):
        await session.execute(
            update(FaqEntry).where(col(FaqEntry.id) == entry_id).values(hits=FaqEntry.hits + count)
        )


async def record_gap(
    session: AsyncSession,
    *,
    locale: str,
    text: str,
    normalized: str,
    asked_at: datetime,
    customer_id: int | None = None,
) -> int:
    # A customer's words may hold NUL, which PostgreSQL refuses: the question is kept without it.
    gap = FaqGap(
        locale=locale,
        text=storable(text),
        normalized=storable(normalized),
        asked_at=asked_at,
        customer_id=customer_id,
    )
    session.add(gap)
    await session.flush()
    return saved_id(gap)


async def forget_gaps(session: AsyncSession, *, customer_id: int) -> None:
    """/forgetme: the customer's unanswered questions go (their words may identify them)."""
    await session.execute(delete(FaqGap).where(col(FaqGap.customer_id) == customer_id))


async def get_gap(session: AsyncSession, *, gap_id: int) -> FaqGap | None:
    return await session.get(FaqGap, gap_id)


async def forget_answered_gaps(session: AsyncSession, *, locale: str, normalized: str) -> int:
    """A question the merchant answered from /faq gaps leaves the list (every gap of that wording)."""
    result = await session.execute(
        delete(FaqGap).where(col(FaqGap.locale) == locale, col(FaqGap.normalized) == normalized)
    )
    return rowcount(result)


@dataclass(frozen=True)
class GapSummary:
    example: str
    locale: str
    count: int
    last_asked_at: datetime
    gap_id: int  # the latest gap of this wording: what the "Answer this" button opens


async def gap_summary(session: AsyncSession, *, since: datetime, limit: int) -> list[GapSummary]:
    """Unanswered questions since `since`, the same wording counted together, most asked first."""
    statement = (
        sa_select(
            col(FaqGap.normalized),
            col(FaqGap.locale),
            func.count().label("count"),
            func.max(FaqGap.text).label("example"),
            func.max(FaqGap.asked_at).label("last"),
            func.max(FaqGap.id).label("gap_id"),
        )
        .where(col(FaqGap.asked_at) >= since)
        .group_by(FaqGap.normalized, FaqGap.locale)
        .order_by(func.count().desc(), func.max(FaqGap.asked_at).desc())
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    return [
        GapSummary(example, locale, count, _aware(last), gap_id)
        for _normalized, locale, count, example, last, gap_id in rows
    ]


def _aware(value: datetime) -> datetime:
    # func.max() bypasses the column type, so the value comes back as the naive UTC that is stored.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
