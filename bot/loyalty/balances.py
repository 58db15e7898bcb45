"""A customer's points as the ledger says: its entries loaded from storage, replayed by the ledger rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.loyalty.ledger import Balance, Lot, balance_of, replay_ledger
from storage.points import ledger_entries, order_dates


async def customer_lots(
    session: AsyncSession, *, customer_id: int, expire_after: timedelta | None = None
) -> list[Lot]:
    entries = await ledger_entries(session, customer_id=customer_id)
    purchased_at: dict[int, datetime] = {}
    if expire_after:  # only expiry needs the purchase dates
        order_ids = {entry.order_id for entry in entries if entry.order_id is not None}
        purchased_at = await order_dates(session, order_ids=order_ids)
    return replay_ledger(entries, expire_after=expire_after, purchased_at=purchased_at)


async def points_balance(
    session: AsyncSession, *, customer_id: int, now: datetime, expire_after: timedelta | None = None
) -> Balance:
    """Available = unspent points past their pending window and not expired; pending = the rest.

    Derived by replaying the customer's ledger (see replay_ledger), so it honours FIFO spending and
    expiry without ever rewriting an entry. Without `expire_after` points never expire.
    """
    lots = await customer_lots(session, customer_id=customer_id, expire_after=expire_after)
    return balance_of(lots, now)
