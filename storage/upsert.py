"""Dialect-aware INSERT ... ON CONFLICT, so idempotent writes are one statement on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    """The session's database, "sqlite" or "postgresql" (SQLite, the default, when unbound)."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """`insert(table)` from the session's dialect, which offers on_conflict_do_nothing/update."""
    module = postgresql if dialect_name(session) == "postgresql" else sqlite
    return module.insert(table)
