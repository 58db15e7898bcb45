"""Redeem confirmations the bot issued: a "Yes, redeem" button works only with a token stored here, for
that customer and reward, before it expires; a forged or stale button finds nothing."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import RedeemToken

TOKEN_BYTES = 6  # 12 hex digits, the length buttons sent before tokens were stored already had


class TokenState(StrEnum):
    FRESH = "fresh"  # issued, unused, not expired: this tap redeems
    USED = "used"  # this tap repeats one that redeemed (a double tap): show the same coupon
    INVALID = "invalid"  # never issued, someone else's, another reward's, or expired


async def issue_token(
    session: AsyncSession, *, customer_id: int, reward_id: str, now: datetime, lifetime: timedelta
) -> str:
    """A new confirmation for this customer and reward, valid for `lifetime`; the customer's expired ones
    are cleared first, so the table holds only what can still be tapped."""
    await session.execute(
        delete(RedeemToken).where(
            col(RedeemToken.customer_id) == customer_id, col(RedeemToken.expires_at) <= now
        )
    )
    expires_at = now + lifetime
    token = secrets.token_hex(TOKEN_BYTES)
    session.add(RedeemToken(token=token, customer_id=customer_id, reward_id=reward_id, expires_at=expires_at))
    await session.flush()
    return token


async def take_token(
    session: AsyncSession, *, token: str, customer_id: int, reward_id: str, now: datetime
) -> TokenState:
    """Check the tapped confirmation and mark it used (in the caller's transaction, so a refused
    redemption that rolls back leaves it usable)."""
    statement = select(RedeemToken).where(col(RedeemToken.token) == token).with_for_update()
    row = (await session.exec(statement)).first()
    if row is None or row.customer_id != customer_id or row.reward_id != reward_id or row.expires_at <= now:
        return TokenState.INVALID
    if row.used_at is not None:
        return TokenState.USED
    row.used_at = now
    session.add(row)
    await session.flush()
    return TokenState.FRESH
