"""What other features do when an order arrives or is reversed. Loyalty's purchase intake
(`bot/loyalty/purchases.py`) calls these inside the order's transaction on every path: /award, CSV import
and shop webhooks, so the bot, the webhooks and the `import-orders` command behave the same."""

from __future__ import annotations

from bot.outreach.campaigns import on_order as end_winback
from bot.outreach.campaigns import order_audience as winback_audience
from bot.referrals.service import on_order as qualify_referral
from bot.referrals.service import on_reversal as cancel_referral
from bot.referrals.service import order_audience as referral_audience

# Called in this order with (session, OrderOutcome) after the order's points are booked.
ORDER_LISTENERS = [
    qualify_referral,  # a referee's first qualifying purchase makes their referral pending
    end_winback,  # a purchase stops the win-back sequence and counts as a conversion of recent messages
]

# For an order listener, (session, *, customer_ids) -> the customers among them whose orders it may act on.
# The import's batch path (bot/loyalty/order_batches.py) writes other customers' orders in bulk without
# calling the listeners, and sends these customers' orders through ingest_order one by one, listeners and
# all. A listener without an audience here makes the batch path import every row one by one.
ORDER_LISTENER_AUDIENCES = {
    qualify_referral: referral_audience,
    end_winback: winback_audience,
}

# Called with (session, ReversalOutcome) after a refund or cancellation took the points back.
REVERSAL_LISTENERS = [
    cancel_referral,  # a refund within the return window cancels the referral
]
