"""Loyalty rules as pure functions: tiers, rewards, points, amounts, FIFO replay with expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.formatting import Formats
from bot.loyalty import rules
from bot.loyalty.ledger import balance_of, replay_ledger
from bot.settings import SettingsError, load_settings
from storage.models import PointsEntry

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_default_tiers_and_rewards_parse():
    tiers = rules.parse_tiers("Gold:2000:1.5,Bronze:0:1,Silver:500:1.25")
    assert [tier.name for tier in tiers] == ["Bronze", "Silver", "Gold"]
    assert rules.tier_for(tiers, 49_999, 2).name == "Bronze"
    assert rules.tier_for(tiers, 50_000, 2).name == "Silver"
    assert rules.next_tier(tiers, tiers[-1]) is None
    rewards = rules.parse_rewards("COFFEE:100:Free coffee; 5OFF:250:5.00: off")
    assert rewards[1] == rules.Reward("5OFF", 250, "5.00: off")
    assert rules.find_reward(rewards, "nope") is None


@pytest.mark.parametrize(
    "spec", ["", "Silver:500:1.25", "Bronze:0", "Bronze:x:1", "Bronze:0:1,Other:0:2", "Bronze:0:-1"]
)
def test_bad_tier_specs_are_refused(spec):
    with pytest.raises(ValueError):
        rules.parse_tiers(spec)


@pytest.mark.parametrize("spec", ["A:0:free", "A:-5:x", "A B:5:x", "A:5:", "A:5:x;A:6:y", "A:ten:x"])
def test_bad_reward_specs_are_refused(spec):
    with pytest.raises(ValueError):
        rules.parse_rewards(spec)


def test_settings_refuse_bad_loyalty_specs_with_one_line():
    with pytest.raises(SettingsError, match="LOYALTY_TIERS"):
        load_settings(_env_file=None, loyalty_tiers="Gold:100:2")
    with pytest.raises(SettingsError, match="LOYALTY_REWARDS"):
        load_settings(_env_file=None, loyalty_rewards="X:0:nothing")


def test_points_round_down_and_apply_multiplier():
    assert rules.points_for(1999, per_unit=Decimal(1), multiplier=Decimal(1), exponent=2) == 19
    assert rules.points_for(10_000, per_unit=Decimal(1), multiplier=Decimal("1.25"), exponent=2) == 125
    assert rules.points_for(500, per_unit=Decimal("0.1"), multiplier=Decimal(1), exponent=0) == 50


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-5", "amount_format"),
        ("abc", "amount_format"),
        ("1e9", "amount_format"),
        ("0", "amount_zero"),
        ("1.234", "amount_precision"),
        ("100001", "amount_too_large"),
        ("99999999999999", "amount_format"),
    ],
)
def test_bad_amounts(text, reason):
    with pytest.raises(ValueError, match=reason):
        rules.parse_amount(text, exponent=2, max_units=100_000)


def test_amount_parsing_and_formatting():
    assert rules.parse_amount("25,50", exponent=2, max_units=100) == 2550
    assert rules.parse_amount("٢٥٫٥٠", exponent=2, max_units=100) == 2550
    assert rules.parse_amount("۲۵٫۵۰", exponent=2, max_units=100) == 2550
    assert rules.parse_amount("7", exponent=0, max_units=100) == 7
    assert Formats(currency="SAR").money("en", 2550) == "SAR25.50"  # messages format money with Babel
    assert Formats(exponent=0, currency="JPY").money("en", 7) == "¥7"
    assert rules.progress_bar(0.5, 4) == "▰▰▱▱" and rules.progress_bar(7, 2) == "▰▰"


def entry(id_, delta, at, kind="earn", order_id=None):
    return PointsEntry(
        id=id_,
        customer_id=1,
        delta=delta,
        kind=kind,
        idempotency_key=str(id_),
        order_id=order_id,
        available_at=at,
    )


def test_spending_consumes_oldest_points_first_so_newer_ones_survive_expiry():
    expiry = timedelta(days=30)
    entries = [
        entry(1, 100, T0),
        entry(2, 100, T0 + timedelta(days=20)),
        entry(3, -100, T0 + timedelta(days=25), kind="redeem"),
    ]
    lots = replay_ledger(entries, expire_after=expiry)
    assert [lot.remaining for lot in lots] == [0, 100]
    assert balance_of(lots, T0 + timedelta(days=31)).available == 100  # lot 1 was spent, not lost
    assert balance_of(lots, T0 + timedelta(days=54)).available == 100  # 30 days after the last activity...
    assert balance_of(lots, T0 + timedelta(days=55)).available == 0  # ...lot 2 expires unspent
    assert balance_of(replay_ledger(entries, expire_after=None), T0 + timedelta(days=999)).available == 100


def test_expired_points_cannot_be_spent_later():
    entries = [
        entry(1, 100, T0),
        entry(2, 50, T0 + timedelta(days=40)),
        entry(3, -50, T0 + timedelta(days=41), kind="redeem"),
    ]
    lots = replay_ledger(entries, expire_after=timedelta(days=30))
    assert [lot.remaining for lot in lots] == [100, 0]
    assert balance_of(lots, T0 + timedelta(days=41)).available == 0


def test_reversal_takes_back_its_own_pending_lot():
    entries = [
        entry(1, 100, T0, kind="welcome"),
        entry(2, 40, T0 + timedelta(days=14), order_id=7),
        entry(3, -40, T0 + timedelta(days=1), kind="reverse", order_id=7),
    ]
    lots = replay_ledger(entries, expire_after=None)
    balance = balance_of(lots, T0 + timedelta(days=2))
    assert (balance.available, balance.pending) == (100, 0)


def test_points_of_an_active_customer_do_not_expire():
    # Expiry is after inactivity: a purchase every 20 days keeps even the oldest points alive.
    expiry = timedelta(days=30)
    entries = [entry(n + 1, 10, T0 + timedelta(days=20 * n)) for n in range(10)]
    lots = replay_ledger(entries, expire_after=expiry)
    assert balance_of(lots, T0 + timedelta(days=190)).available == 100
    assert balance_of(lots, T0 + timedelta(days=180 + 30)).available == 0  # then 30 quiet days: all go


def test_a_refunded_order_does_not_count_as_activity():
    entries = [
        entry(1, 100, T0, kind="welcome"),
        entry(2, 40, T0 + timedelta(days=20), order_id=7),
        entry(3, -40, T0 + timedelta(days=21), kind="reverse", order_id=7),
    ]
    lots = replay_ledger(entries, expire_after=timedelta(days=30))
    assert balance_of(lots, T0 + timedelta(days=29)).available == 100
    assert balance_of(lots, T0 + timedelta(days=30)).available == 0


def test_a_purchase_counts_as_activity_from_its_order_date_not_the_end_of_its_return_window():
    entries = [
        entry(1, 100, T0, kind="welcome"),
        entry(2, 40, T0 + timedelta(days=39), order_id=7),  # ordered on day 25, pending 14 days
    ]
    lots = replay_ledger(entries, expire_after=timedelta(days=30), purchased_at={7: T0 + timedelta(days=25)})
    assert balance_of(lots, T0 + timedelta(days=54)).available == 140  # day 25 kept the welcome points
    assert balance_of(lots, T0 + timedelta(days=55)).available == 40
    # Points never expire sooner than the window after they became available.
    assert balance_of(lots, T0 + timedelta(days=69)).available == 0
