"""What other features do when an order arrives or is reversed. Loyalty's purchase intake
(`bot/loyalty/purchases.py`) calls these inside the order's transaction on every path: /award, CSV import
and shop webhooks, so the bot, the webhooks and the `import-orders` command behave the same."""

from __future__ import annotations

from bot.outreach.campaigns import on_order as end_winback
from bot.referrals.service import on_order as qualify_referral
from bot.referrals.service import on_reversal as cancel_referral

# Called in this order with (session, OrderOutcome) after the order's points are booked.
ORDER_LISTENERS = [
    qualify_referral,  # a referee's first qualifying purchase makes their referral pending
    end_winback,  # a purchase stops the win-back sequence and counts as a conversion of recent messages
]

# Called with (session, ReversalOutcome) after a refund or cancellation took the points back.
REVERSAL_LISTENERS = [
    cancel_referral,  # a refund within the return window cancels the referral
]
