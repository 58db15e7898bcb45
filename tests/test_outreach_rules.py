"""Outreach rules as plain functions: birthdays, win-back thresholds, quiet hours, the cap, segments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.outreach import rules
from bot.settings import Settings

SETTINGS = Settings(_env_file=None)
TODAY = date(2026, 3, 15)
RIYADH = ZoneInfo("Asia/Riyadh")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25-12", date(rules.NO_YEAR, 12, 25)),
        ("5/1", date(rules.NO_YEAR, 1, 5)),
        ("25/12/1990", date(1990, 12, 25)),
        ("25.12.1990", date(1990, 12, 25)),
        ("٢٥-١٢", date(rules.NO_YEAR, 12, 25)),
        ("۲۵/۱۲/۱۹۹۰", date(1990, 12, 25)),
        ("29-02", date(rules.NO_YEAR, 2, 29)),
        (" 01-03 ", date(rules.NO_YEAR, 3, 1)),
    ],
)
def test_birthdays_in_every_accepted_form(text, expected):
    assert rules.parse_birthday(text, today=TODAY) == expected


@pytest.mark.parametrize(
    "text", ["", "31-02", "13-13", "00-05", "29/02/2001", "1/1/1850", "1/1/2027", "25 december", "12-25-1990"]
)
def test_nonsense_birthdays_are_refused(text):
    assert rules.parse_birthday(text, today=TODAY) is None


def test_february_29_is_celebrated_on_the_28th_in_common_years():
    leap = date(rules.NO_YEAR, 2, 29)
    assert rules.birthday_in(leap, 2027) == date(2027, 2, 28)
    assert rules.birthday_in(leap, 2028) == date(2028, 2, 29)
    assert rules.next_birthday(leap, date(2027, 3, 1)) == date(2028, 2, 29)


def test_a_birthday_set_within_thirty_days_before_it_earns_nothing_that_year():
    day = date(2026, 4, 10)
    start = datetime(2026, 4, 10, tzinfo=RIYADH)
    assert rules.earns_reward(None, day, RIYADH, 30)
    assert rules.earns_reward(start - timedelta(days=30), day, RIYADH, 30)
    assert not rules.earns_reward(start - timedelta(days=29, hours=23), day, RIYADH, 30)
    assert not rules.earns_reward(start + timedelta(hours=1), day, RIYADH, 30)


def _orders(*days: int) -> list[datetime]:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    return [base + timedelta(days=day) for day in days]


def test_winback_threshold_follows_the_customers_own_rhythm_within_bounds():
    assert rules.winback_threshold(_orders(0), SETTINGS) == timedelta(days=60)
    assert rules.winback_threshold(_orders(0, 20, 40, 100), SETTINGS) == timedelta(days=40)
    assert rules.winback_threshold(_orders(0, 5, 10), SETTINGS) == timedelta(days=30)
    assert rules.winback_threshold(_orders(0, 200), SETTINGS) == timedelta(days=180)


def test_standing_active_at_risk_and_lost():
    now = datetime(2026, 3, 15, tzinfo=UTC)
    recent = rules.standing([(now - timedelta(days=10), 500)], now, SETTINGS)
    assert recent.active and not recent.at_risk
    lapsed = rules.standing([(now - timedelta(days=61), 500)], now, SETTINGS)
    assert lapsed.at_risk and lapsed.active
    lost = rules.standing([(now - timedelta(days=400), 500)], now, SETTINGS)
    assert not lost.at_risk and not lost.active and lost.spend_12m == 0
    assert rules.standing([], now, SETTINGS) == rules.Standing(None, None, False, False, 0)


def test_segments_by_activity_and_loyalty_tier():
    now = datetime(2026, 3, 15, tzinfo=UTC)
    big = rules.standing([(now - timedelta(days=5), 60_000)], now, SETTINGS)
    assert rules.segment_names(SETTINGS) == ["all", "active", "at-risk", "bronze", "silver", "gold"]
    assert rules.in_segment("silver", big, SETTINGS) and not rules.in_segment("gold", big, SETTINGS)
    assert rules.in_segment("active", big, SETTINGS) and not rules.in_segment("at-risk", big, SETTINGS)
    assert rules.in_segment("all", rules.standing([], now, SETTINGS), SETTINGS)


def test_quiet_hours_in_the_shop_time_zone():
    # 21:00-09:00 in Riyadh (UTC+3): 19:30 UTC is 22:30 there, quiet until 09:00 the next morning.
    evening = datetime(2026, 3, 15, 19, 30, tzinfo=UTC)
    assert rules.quiet_until(evening, RIYADH, SETTINGS) == datetime(2026, 3, 16, 9, tzinfo=RIYADH)
    early = datetime(2026, 3, 15, 3, 0, tzinfo=UTC)  # 06:00 in Riyadh
    assert rules.quiet_until(early, RIYADH, SETTINGS) == datetime(2026, 3, 15, 9, tzinfo=RIYADH)
    assert rules.quiet_until(datetime(2026, 3, 15, 9, tzinfo=UTC), RIYADH, SETTINGS) is None
    daytime = SETTINGS.model_copy(update={"outreach_quiet_start": 13, "outreach_quiet_end": 15})
    assert rules.quiet_until(datetime(2026, 3, 15, 11, tzinfo=UTC), RIYADH, daytime) is not None
    off = SETTINGS.model_copy(update={"outreach_quiet_start": 0, "outreach_quiet_end": 0})
    assert rules.quiet_until(evening, RIYADH, off) is None


def test_frequency_cap_waits_for_the_window_to_pass():
    now = datetime(2026, 3, 15, 12, tzinfo=UTC)
    assert rules.cap_until([], now, SETTINGS) is None
    assert rules.cap_until([now - timedelta(hours=25)], now, SETTINGS) is None
    assert rules.cap_until([now - timedelta(hours=2)], now, SETTINGS) == now + timedelta(hours=22)
    two = SETTINGS.model_copy(update={"outreach_cap_messages": 2})
    assert rules.cap_until([now - timedelta(hours=2)], now, two) is None
    off = SETTINGS.model_copy(update={"outreach_cap_hours": 0})
    assert rules.cap_until([now], now, off) is None
