"""Figures for the merchant's analytics and /forgetme, on both databases; the pure referral rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.referrals import rules
from bot.settings import SettingsError, load_settings
from storage import referrals as store
from storage.customers import TelegramProfile, ensure_customer, forget_customer
from storage.models import Referral, ReferralCode, ReferralStatus
from tests.fakes import updates
from tests.referrals_support import NEIL, RITA, code_of, customer_of, referrals, start

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday


async def person(db, telegram_id: int, name: str):
    async with db.session() as session:
        customer, _ = await ensure_customer(
            session, profile=TelegramProfile(telegram_id, first_name=name), locale="en"
        )
    return customer.id


async def referral(db, referrer_id, referee_id, *, at, converted_at=None, points=0, rewarded=True):
    async with db.session() as session:
        assert await store.attribute(
            session, referrer_id=referrer_id, referee_id=referee_id, now=at, min_order_minor=0
        )
        if converted_at is not None:
            row = await store.referral_of(session, referee_id=referee_id)
            row.status, row.converted_at = ReferralStatus.CONVERTED, converted_at
            row.qualifies_at, row.rewarded, row.referrer_points = converted_at, rewarded, points
            session.add(row)


@pytest.fixture
async def figures(db):
    """Ann: 3 invited (2 converted, 400 points); Ben: 2 invited (1 converted, capped); Cy: 1 invited."""
    ann, ben, cy = (await person(db, 1, "Ann"), await person(db, 2, "Ben"), await person(db, 3, "Cy"))
    friends = [await person(db, 10 + n, f"Friend{n}") for n in range(6)]
    day = timedelta(days=1)
    await referral(db, ann, friends[0], at=T0, converted_at=T0 + 15 * day, points=200)
    await referral(db, ann, friends[1], at=T0 + day, converted_at=T0 + 16 * day, points=200)
    await referral(db, ann, friends[2], at=T0 + 2 * day)
    await referral(db, ben, friends[3], at=T0, converted_at=T0 + 15 * day, rewarded=False)
    await referral(db, ben, friends[4], at=T0 + 3 * day)
    await referral(db, cy, friends[5], at=T0 + 20 * day)
    return ann, ben, cy


async def test_referral_counts_in_a_period(db, figures):
    async with db.read_session() as session:
        whole = await store.referral_counts(session, start=T0, end=T0 + timedelta(days=30))
        first_days = await store.referral_counts(session, start=T0, end=T0 + timedelta(days=2))
        conversions = await store.referral_counts(
            session, start=T0 + timedelta(days=15), end=T0 + timedelta(days=16)
        )
        empty = await store.referral_counts(session, start=T0 - timedelta(days=9), end=T0)
    assert whole == (6, 3)
    assert first_days == (3, 0)  # [start, end): the referral at T0 + 2 days is not in
    assert conversions == (0, 2)
    assert empty == (0, 0)


async def test_top_referrers_ranks_by_conversions_then_invitations(db, figures):
    ann, ben, cy = figures
    async with db.read_session() as session:
        top = await store.top_referrers(session, start=T0, end=T0 + timedelta(days=30))
        first = await store.top_referrers(session, start=T0, end=T0 + timedelta(days=30), limit=1)
        late = await store.top_referrers(session, start=T0 + timedelta(days=10), end=T0 + timedelta(days=30))
    assert [(r.customer_id, r.name, r.invited, r.converted, r.points) for r in top] == [
        (ann, "Ann", 3, 2, 400),
        (ben, "Ben", 2, 1, 0),
        (cy, "Cy", 1, 0, 0),
    ]
    assert [r.name for r in first] == ["Ann"]
    # Only what happened in the period: conversions after day 10 and Cy's invitation on day 20.
    assert [(r.name, r.invited, r.converted, r.points) for r in late] == [
        ("Ann", 0, 2, 400),
        ("Ben", 0, 1, 0),
        ("Cy", 1, 0, 0),
    ]


async def test_forgetting_a_referrer_keeps_anonymous_counts_only(db, figures):
    ann, _, _ = figures
    async with db.session() as session:
        await store.ensure_referral_code(session, customer_id=ann)
        assert await forget_customer(session, telegram_id=1)
    async with db.read_session() as session:
        top = await store.top_referrers(session, start=T0, end=T0 + timedelta(days=30))
        counts = await store.referral_counts(session, start=T0, end=T0 + timedelta(days=30))
        codes = (await session.exec(select(ReferralCode).where(ReferralCode.customer_id == ann))).all()
        linked = (await session.exec(select(Referral).where(Referral.referrer_id == ann))).all()
    assert ann not in [r.customer_id for r in top] and counts == (6, 3)
    assert codes == [] and linked == []


async def test_forgetme_unlinks_the_referee_through_the_bot(harness):
    await start(harness, RITA)
    code = await code_of(harness, RITA)
    await start(harness, NEIL, f"ref_{code}")
    neil = await customer_of(harness, NEIL)
    await harness.send(updates.command(NEIL, "/forgetme"))
    await harness.send(updates.callback(NEIL, "forget:yes"))
    (stored,) = await referrals(harness)
    assert stored.referee_id is None and stored.referrer_id == (await customer_of(harness, RITA)).id
    async with harness.db.read_session() as session:
        assert await store.referral_of(session, referee_id=neil.id) is None
        assert (await store.referrer_stats(session, referrer_id=stored.referrer_id)).invited == 1


async def test_codes_are_unique_and_stable(db):
    ids = [await person(db, 50 + n, f"P{n}") for n in range(30)]
    async with db.session() as session:
        codes = [await store.ensure_referral_code(session, customer_id=i) for i in ids]
        again = await store.ensure_referral_code(session, customer_id=ids[0])
    assert len(set(codes)) == 30 and again == codes[0]
    assert all(rules.CODE.match(code) for code in codes)


def test_reward_specs():
    assert rules.parse_reward("points:200") == rules.RewardSpec("points", points=200)
    assert rules.parse_reward(" coupon: 10% off ") == rules.RewardSpec("coupon", benefit="10% off")
    assert rules.parse_reward("none") == rules.RewardSpec("none")
    for bad in ("points:0", "points:-5", "points:x", "coupon:", "coupon:" + "x" * 65, "cash:5", ""):
        with pytest.raises(ValueError):
            rules.parse_reward(bad)


def test_bad_reward_setting_names_the_setting():
    with pytest.raises(SettingsError, match="REFERRAL_REFERRER_REWARD"):
        load_settings(_env_file=None, referral_referrer_reward="cash:5")


def test_payloads_and_links():
    assert rules.code_from_payload("ref_ABCD2345") == "ABCD2345"
    assert rules.code_from_payload("ref_abcd2345") == "ABCD2345"
    assert rules.code_from_payload("ref_ABCD") == ""
    assert rules.code_from_payload("promo") is None and rules.code_from_payload(None) is None
    assert rules.deep_link("shop_bot", "ABCD2345") == "https://t.me/shop_bot?start=ref_ABCD2345"
    assert rules.share_url("https://t.me/b?start=ref_X", "Hi & bye").endswith("text=Hi%20%26%20bye")


def test_minimum_amount_in_minor_units_rounds_up():
    assert rules.min_order_minor(Decimal("10"), 2) == 1000
    assert rules.min_order_minor(Decimal("9.999"), 2) == 1000
    assert rules.min_order_minor(Decimal("0"), 3) == 0


def test_week_runs_monday_to_monday_in_shop_time():
    riyadh = ZoneInfo("Asia/Riyadh")  # UTC+3
    # Sunday 22:00 UTC is already Monday 01:00 in Riyadh: a new week there.
    start, end = rules.week_bounds(datetime(2026, 3, 8, 22, tzinfo=UTC), riyadh)
    assert start == datetime(2026, 3, 8, 21, tzinfo=UTC) and end == datetime(2026, 3, 15, 21, tzinfo=UTC)
    start, end = rules.week_bounds(datetime(2026, 3, 8, 20, tzinfo=UTC), riyadh)
    assert start == datetime(2026, 3, 1, 21, tzinfo=UTC)
    # A week spanning a daylight-saving change is still Monday 00:00 to Monday 00:00 local time.
    berlin = ZoneInfo("Europe/Berlin")
    start, end = rules.week_bounds(datetime(2026, 3, 25, tzinfo=UTC), berlin)
    assert start == datetime(2026, 3, 22, 23, tzinfo=UTC) and end == datetime(2026, 3, 29, 22, tzinfo=UTC)
