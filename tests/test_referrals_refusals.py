"""Links that must not attribute: each gets a clear reply and records nothing."""

from __future__ import annotations

import pytest

from storage.referrals import ReferrerStats
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.referrals_support import (
    NADA,
    NEIL,
    OMAR,
    RITA,
    buy,
    code_of,
    customer_of,
    invite,
    referrals,
    run_sweep,
    start,
    stats,
)

INVALID = "This invitation link is not valid"


async def test_own_link_is_refused(harness):
    await start(harness, RITA)
    code = await code_of(harness, RITA)
    await start(harness, RITA, f"ref_{code}")
    assert "That is your own invitation link" in harness.last_text_to(RITA)
    assert await referrals(harness) == []


async def test_existing_customer_is_refused(harness):
    await start(harness, RITA)
    await start(harness, NEIL)
    code = await code_of(harness, RITA)
    await start(harness, NEIL, f"ref_{code}")
    texts = harness.texts_to(NEIL)
    assert "Welcome back" in texts[-2]
    assert "Invitation links are for new customers" in texts[-1]
    assert await referrals(harness) == []


async def test_customer_known_from_another_command_is_refused(harness):
    await start(harness, RITA)
    code = await code_of(harness, RITA)
    await harness.send(updates.command(NEIL, "/balance"))  # first contact, without the link
    await start(harness, NEIL, f"ref_{code}")
    assert "Invitation links are for new customers" in harness.last_text_to(NEIL)
    assert await referrals(harness) == []


async def test_new_customer_who_already_ordered_is_refused(harness):
    await start(harness, RITA)
    code = await code_of(harness, RITA)
    # The shop recorded a purchase under Nabil's Telegram id before he ever opened the bot (/award takes
    # Telegram ids of five digits or more; shorter numbers are refused as unknown member numbers).
    nabil = TgUser(id=70031234, first_name="Nabil", language_code="en")
    await harness.send(updates.command(MERCHANT, f"/award {nabil.id} 20"))
    await start(harness, nabil, f"ref_{code}")
    assert "you have already ordered from us" in harness.last_text_to(nabil)
    assert await referrals(harness) == []
    assert (await customer_of(harness, nabil)) is not None  # still registered, just not referred


async def test_second_referrer_is_refused(harness):
    await start(harness, RITA)
    await start(harness, OMAR)
    await invite(harness, RITA, NEIL)
    omar_code = await code_of(harness, OMAR)
    await start(harness, NEIL, f"ref_{omar_code}")
    assert "You have already joined through a friend's invitation" in harness.last_text_to(NEIL)
    (referral,) = await referrals(harness)
    assert referral.referrer_id == (await customer_of(harness, RITA)).id


async def test_unknown_code_is_refused(harness):
    await start(harness, NEIL, "ref_ABCDEFGH")
    texts = harness.texts_to(NEIL)
    assert "Welcome to Test Shop" in texts[-2] and INVALID in texts[-1]
    assert await referrals(harness) == []


@pytest.mark.parametrize(
    "payload", ["ref_", "ref_ABC", "ref_ABCDEFGHJ", "ref_ABCD0OI1", "ref_<script>", "ref_" + "A" * 70]
)
async def test_garbled_codes_are_refused(harness, payload):
    await start(harness, NEIL, payload)
    assert INVALID in harness.last_text_to(NEIL)
    assert await referrals(harness) == []


async def test_garbled_code_in_arabic(harness):
    await start(harness, NADA, "ref_%%%")
    assert "رابط الدعوة هذا غير صالح" in harness.last_text_to(NADA)


async def test_code_case_does_not_matter(harness):
    await start(harness, RITA)
    code = await code_of(harness, RITA)
    await start(harness, NEIL, f"ref_{code.lower()}")
    assert len(await referrals(harness)) == 1


async def test_forgotten_referrers_code_no_longer_works(harness):
    await start(harness, RITA)
    code = await code_of(harness, RITA)
    await harness.send(updates.command(RITA, "/forgetme"))
    await harness.send(updates.callback(RITA, "forget:yes"))
    await start(harness, NEIL, f"ref_{code}")
    assert INVALID in harness.last_text_to(NEIL)
    assert await referrals(harness) == []


async def test_other_payloads_get_no_referral_reply(harness):
    await start(harness, NEIL, "summer_sale")
    texts = harness.texts_to(NEIL)
    assert "Welcome to Test Shop" in texts[-1]
    assert not any("invitation" in text for text in texts)


async def test_customer_who_ordered_under_their_phone_before_joining_earns_no_referral(harness):
    """The /start check cannot see an order filed under a phone number; once the customer shares it and
    the order is linked, the referral is cancelled and a later purchase rewards nobody."""
    await start(harness, RITA)
    code = await code_of(harness, RITA)
    await harness.send(updates.command(MERCHANT, "/award +966501234567 40"))
    harness.clock.advance(hours=1)
    await start(harness, NEIL, f"ref_{code}")
    assert (await referrals(harness))[0].status == "attributed"
    await harness.send(updates.contact(NEIL, "+966 50 123 4567"))
    await buy(harness, NEIL, "after-join", 3000)
    assert (await referrals(harness))[0].status == "attributed"  # the listener no longer qualifies it
    assert (await run_sweep(harness))["prior_buyer"] == 1
    harness.clock.advance(days=15)
    assert sum((await run_sweep(harness)).values()) == 0
    (referral,) = await referrals(harness)
    assert referral.status == "cancelled" and not referral.rewarded
    assert await stats(harness, RITA) == ReferrerStats(invited=1, converted=0, points=0)
