"""Redeem confirmations are issued by the bot: a "Yes, redeem" button works only with a stored token for
that customer and reward, once, for ten minutes; forged, expired or someone else's ones get the "no longer
active" alert and spend nothing (issue 15, point 10)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from storage.models import Coupon
from tests.fakes import updates
from tests.loyalty_helpers import balance
from tests.test_loyalty_handlers import NORA, SAMI, give, start

INACTIVE = {NORA: "This button is no longer active.", SAMI: "هذا الزر لم يعد نشطًا."}


async def rich(harness, user):
    stored = await start(harness, user)
    await give(harness, user, 20_000, f"big-{user.id}")  # 200 points and the 50 of the welcome
    return stored


async def confirm_data(harness, user, reward: str = "COFFEE") -> str:
    await harness.send(updates.callback(user, f"loy:r:{reward}"))
    confirm = harness.api.sent("editMessageText", chat_id=user.id)[-1]
    return confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]


async def available(harness, stored) -> int:
    settings = harness.app.bot_data["settings"]
    return (await balance(harness.db, settings, stored.id, harness.clock.now())).available


async def coupons(harness) -> list[Coupon]:
    async with harness.db.read_session() as session:
        return list((await session.exec(select(Coupon).where(Coupon.source == "reward"))).all())


def assert_inactive(harness, user) -> None:
    answer = harness.api.sent("answerCallbackQuery")[-1].params
    assert (answer.get("text"), answer.get("show_alert")) == (INACTIVE[user], True)


@pytest.mark.parametrize("user", [NORA, SAMI], ids=["en", "ar"])
async def test_a_forged_confirmation_redeems_nothing(harness, user):
    stored = await rich(harness, user)
    await harness.send(updates.callback(user, "loy:y:COFFEE:000000000000"))
    assert_inactive(harness, user)
    assert await available(harness, stored) == 250 and await coupons(harness) == []


@pytest.mark.parametrize("user", [NORA, SAMI], ids=["en", "ar"])
async def test_an_expired_confirmation_redeems_nothing(harness, user):
    stored = await rich(harness, user)
    yes = await confirm_data(harness, user)
    assert re.fullmatch(r"loy:y:COFFEE:[0-9a-f]{12}", yes)
    harness.clock.advance(minutes=10, seconds=1)
    await harness.send(updates.callback(user, yes))
    assert_inactive(harness, user)
    assert await available(harness, stored) == 250 and await coupons(harness) == []
    yes = await confirm_data(harness, user)  # asking again gives a fresh one
    harness.clock.advance(minutes=9)
    await harness.send(updates.callback(user, yes))
    assert await available(harness, stored) == 150 and len(await coupons(harness)) == 1


async def test_someone_elses_or_another_rewards_confirmation_redeems_nothing(harness):
    nora, sami = await rich(harness, NORA), await rich(harness, SAMI)
    yes = await confirm_data(harness, NORA)
    await harness.send(updates.callback(SAMI, yes))
    assert_inactive(harness, SAMI)
    await harness.send(updates.callback(NORA, yes.replace(":COFFEE:", ":15PCT:")))
    assert_inactive(harness, NORA)
    assert (await available(harness, nora), await available(harness, sami)) == (250, 250)
    assert await coupons(harness) == []
    await harness.send(updates.callback(NORA, yes))  # the real one still works, once
    await harness.send(updates.callback(NORA, yes))
    assert await available(harness, nora) == 150 and len(await coupons(harness)) == 1
