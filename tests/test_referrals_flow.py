"""Referrals end to end through /start deep links: the /referral card, attribution, the qualifying purchase,
the return window, rewards for both sides, notifications, refunds and the coupon option."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from bot.formatting import Formats
from bot.loyalty.balances import points_balance
from storage.referrals import ReferrerStats
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import BOT_USERNAME, blocked_by_user
from tests.loyalty_helpers import balance
from tests.referrals_support import (
    NADA,
    NEIL,
    OMAR,
    RITA,
    WINDOW,
    buy,
    code_of,
    customer_of,
    invite,
    referrals,
    refund,
    run_sweep,
    settings_of,
    start,
    stats,
)


async def test_referral_shows_code_link_share_button_and_stats(harness):
    await start(harness, RITA)
    code = await code_of(harness, RITA)
    text = harness.last_text_to(RITA)
    link = f"https://t.me/{BOT_USERNAME}?start=ref_{code}"
    assert len(code) == 8 and link in text
    assert "Invite friends to Test Shop" in text
    assert "of at least $10.00 past the 14-day return window" in text
    assert "you get 200 points and they get 100 points" in text and "Up to 10 rewarded friends a week" in text
    assert "Invited: <b>0</b> · Bought and kept: <b>0</b> · Points earned: <b>0</b>" in text
    ((label, url),) = harness.buttons_to(RITA)
    assert label == "📤 Share with friends"
    shared = parse_qs(urlparse(url).query)
    assert url.startswith("https://t.me/share/url?") and shared["url"] == [link]
    assert "Join me at Test Shop" in shared["text"][0]
    # Asking again shows the same code; the payload fits Telegram's 64 characters of [A-Za-z0-9_-].
    assert await code_of(harness, RITA) == code
    assert len(f"ref_{code}") <= 64


async def test_referral_card_in_arabic_isolates_values(harness):
    await start(harness, OMAR)
    code = await code_of(harness, OMAR)
    text = harness.last_text_to(OMAR)
    assert "ادعُ أصدقاءك" in text and f"ref_{code}" in text and "\u2068200\u2069 نقطة" in text
    assert harness.buttons_to(OMAR)[0][0] == "📤 شارك مع أصدقائك"


async def test_link_start_attributes_then_purchase_clears_window_and_rewards_both(harness):
    await start(harness, RITA)
    await invite(harness, RITA, NEIL)
    texts = harness.texts_to(NEIL)
    assert "Welcome to Test Shop, Neil!" in texts[-2]
    assert "You joined through <b>Rita</b>'s invitation" in texts[-1]
    assert "you get 100 points; Rita gets 200 points too" in texts[-1]
    rita, neil = await customer_of(harness, RITA), await customer_of(harness, NEIL)
    (referral,) = await referrals(harness)
    assert (referral.referrer_id, referral.referee_id, referral.status) == (rita.id, neil.id, "attributed")
    assert referral.min_order_minor == 1000

    outcome = await buy(harness, NEIL, "n-1", 2500)
    (referral,) = await referrals(harness)
    assert referral.status == "pending" and referral.order_id == outcome.order.id
    assert referral.qualifies_at == harness.clock.now() + WINDOW

    harness.clock.advance(days=13, hours=23)
    assert sum((await run_sweep(harness)).values()) == 0
    assert (await referrals(harness))[0].status == "pending"

    harness.clock.advance(hours=1)
    assert (await run_sweep(harness))["rewarded"] == 1
    (referral,) = await referrals(harness)
    assert referral.status == "converted" and referral.rewarded
    assert referral.converted_at == referral.qualifies_at
    assert (referral.referrer_points, referral.referee_points) == (200, 100)
    settings = settings_of(harness)
    now = harness.clock.now()
    # Welcome bonus 50 + referral reward; Neil's 25 purchase points are available now too.
    assert (await balance(harness.db, settings, rita.id, now)).available == 250
    assert (await balance(harness.db, settings, neil.id, now)).available == 50 + 25 + 100
    assert "A friend you invited has kept their first purchase" in harness.last_text_to(RITA)
    assert "You earned <b>200 points</b>. Balance: 250 available." in harness.last_text_to(RITA)
    assert "<b>100 points</b> are in your balance (175 available)" in harness.last_text_to(NEIL)
    # A second sweep changes nothing and sends nothing.
    sent = len(harness.api.calls)
    assert sum((await run_sweep(harness)).values()) == 0 and len(harness.api.calls) == sent
    assert await stats(harness, RITA) == ReferrerStats(invited=1, converted=1, points=200)
    await harness.send(updates.command(RITA, "/referral"))
    assert "Invited: <b>1</b> · Bought and kept: <b>1</b> · Points earned: <b>200</b>" in (
        harness.last_text_to(RITA)
    )
    await harness.send(updates.command(RITA, "/history"))
    assert "+200 · Referral reward" in harness.last_text_to(RITA)


async def test_arabic_referee_is_welcomed_and_rewarded_in_arabic(harness):
    await start(harness, OMAR)
    await invite(harness, OMAR, NADA)
    assert "انضممت عبر دعوة <b>\u2068عمر\u2069</b>" in harness.last_text_to(NADA)
    await buy(harness, NADA, "nada-1", 1000)
    harness.clock.advance(days=15)
    await run_sweep(harness)
    assert "أُضيفت <b>\u2068100\u2069 نقطة</b>" in harness.last_text_to(NADA)
    assert "ربحت <b>\u2068200\u2069 نقطة</b>" in harness.last_text_to(OMAR)
    await harness.send(updates.command(OMAR, "/history"))
    assert "مكافأة دعوة صديق" in harness.last_text_to(OMAR)


async def test_purchase_recorded_with_award_command_qualifies(harness):
    await start(harness, RITA)
    await invite(harness, RITA, NEIL)
    await harness.send(updates.command(MERCHANT, f"/award {NEIL.id} 30.00 shop-77"))
    (referral,) = await referrals(harness)
    assert referral.status == "pending"
    harness.clock.advance(days=14)
    assert (await run_sweep(harness))["rewarded"] == 1


async def test_small_first_order_does_not_qualify_but_a_later_one_does(harness):
    await start(harness, RITA)
    await invite(harness, RITA, NEIL)
    await buy(harness, NEIL, "small", 999)
    assert (await referrals(harness))[0].status == "attributed"
    harness.clock.advance(days=3)
    big = await buy(harness, NEIL, "big", 1000)
    (referral,) = await referrals(harness)
    assert referral.status == "pending" and referral.order_id == big.order.id
    # Only the first qualifying purchase counts: a third order changes nothing.
    await buy(harness, NEIL, "third", 50_000)
    assert (await referrals(harness))[0].order_id == big.order.id


async def test_refund_within_return_window_cancels_the_referral(harness):
    await start(harness, RITA)
    await invite(harness, RITA, NEIL)
    await buy(harness, NEIL, "r-1", 5000)
    harness.clock.advance(days=5)
    await refund(harness, "r-1")
    (referral,) = await referrals(harness)
    assert referral.status == "cancelled" and referral.cancelled_at == harness.clock.now()
    # Cancelled for good: a later purchase is not a first purchase any more.
    await buy(harness, NEIL, "r-2", 5000)
    harness.clock.advance(days=30)
    assert sum((await run_sweep(harness)).values()) == 0
    assert (await referrals(harness))[0].status == "cancelled"
    rita = await customer_of(harness, RITA)
    async with harness.db.read_session() as session:
        assert (await points_balance(session, customer_id=rita.id, now=harness.clock.now())).available == 50
    assert "kept their first purchase" not in harness.last_text_to(RITA)


async def test_refund_after_the_window_cleared_keeps_the_reward(harness):
    await start(harness, RITA)
    await invite(harness, RITA, NEIL)
    await buy(harness, NEIL, "late-refund", 5000)
    harness.clock.advance(days=14, hours=1)
    await refund(harness, "late-refund")  # before the sweep ran, but after the window
    assert (await referrals(harness))[0].status == "pending"
    assert (await run_sweep(harness))["rewarded"] == 1


async def test_refund_missed_by_the_listener_is_caught_by_the_sweep(harness, monkeypatch):
    """A refund the listener did not see (written to the store directly, say) still cancels in time."""

    await start(harness, RITA)
    await invite(harness, RITA, NEIL)
    await buy(harness, NEIL, "csv-1", 5000)
    harness.clock.advance(days=2)
    with monkeypatch.context() as patch:
        listeners = harness.app.bot_data["order_listeners"]
        patch.setitem(harness.app.bot_data, "order_listeners", replace(listeners, on_reversal=()))
        await refund(harness, "csv-1")
    assert (await referrals(harness))[0].status == "pending"
    harness.clock.advance(days=13)
    assert (await run_sweep(harness))["cancelled"] == 1
    assert (await referrals(harness))[0].status == "cancelled"


async def test_order_linked_later_is_found_by_the_sweep(harness):
    """An order filed under the referee's phone is linked when they share it; the sweep then qualifies it."""
    await start(harness, RITA)
    await invite(harness, RITA, NEIL)
    harness.clock.advance(hours=1)
    await harness.send(updates.command(MERCHANT, "/award +966501234567 40"))
    assert (await referrals(harness))[0].status == "attributed"
    await harness.send(updates.contact(NEIL, "+966 50 123 4567"))
    assert (await run_sweep(harness))["pending"] == 1
    assert (await referrals(harness))[0].status == "pending"
    harness.clock.advance(days=14)
    assert (await run_sweep(harness))["rewarded"] == 1


async def test_coupon_rewards(harness):
    harness.app.bot_data["settings"] = settings_of(harness).model_copy(
        update={"referral_referrer_reward": "coupon:15% off", "referral_referee_reward": "none"}
    )
    await start(harness, RITA)
    await code_of(harness, RITA)
    assert "you get a coupon for 15% off." in harness.last_text_to(RITA)
    await invite(harness, RITA, NEIL)
    await buy(harness, NEIL, "c-1", 2000)
    harness.clock.advance(days=14)
    await run_sweep(harness)
    text = harness.last_text_to(RITA)
    assert "Your reward: <b>15% off</b>, coupon code <code>F" in text
    until = harness.clock.now() + timedelta(days=settings_of(harness).loyalty_programme.validity_days)
    assert f"valid until {Formats().calendar_date('en', until)}" in text  # the coupon's last day
    (referral,) = await referrals(harness)
    assert referral.rewarded and (referral.referrer_points, referral.referee_points) == (0, 0)
    assert not any("gift for joining" in t for t in harness.texts_to(NEIL))


async def test_unreachable_referrer_does_not_stop_the_reward(harness):
    await start(harness, RITA)
    await invite(harness, RITA, NEIL)
    await buy(harness, NEIL, "u-1", 2000)
    harness.api.fail("sendMessage", blocked_by_user(), chat_id=RITA.id)
    harness.clock.advance(days=14)
    assert (await run_sweep(harness))["rewarded"] == 1
    assert (await referrals(harness))[0].rewarded
    assert "<b>100 points</b> are in your balance" in harness.last_text_to(NEIL)


async def test_sweep_is_scheduled_on_the_job_queue(harness):
    names = [job.name for job in harness.app.job_queue.jobs()]
    assert names.count("referrals-sweep") == 1


async def test_help_and_menu_list_the_referral_command(harness):
    await start(harness, NEIL)
    await harness.send(updates.command(NEIL, "/help"))
    assert "/referral" in harness.last_text_to(NEIL) and "Invite friends and earn rewards" in (
        harness.last_text_to(NEIL)
    )
    menus = harness.api.sent("setMyCommands")
    assert any(command["command"] == "referral" for call in menus for command in call.params["commands"])
