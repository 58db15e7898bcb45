"""The coupon lifecycle: a reward's coupon shows its expiry, /coupons lists the unused ones with a copy
button, marking used wins once under a race, and expired, used or void coupons are not listed."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from bot.loyalty.rewards import redeem
from storage import coupons
from storage.customers import get_customer
from storage.points import issue_coupon
from tests.fakes import updates
from tests.fakes.updates import TgUser
from tests.loyalty_helpers import NOW, ingest, make_customer

NORA = TgUser(id=6101, first_name="Nora", language_code="en")
SAMI = TgUser(id=6102, first_name="سامي", language_code="ar")


async def joined(harness, user, *, points_order: int = 0):
    await harness.send(updates.command(user, "/start"))
    async with harness.db.read_session() as session:
        stored = await get_customer(session, telegram_id=user.id)
    if points_order:
        settings = harness.app.bot_data["settings"]
        now = harness.clock.now()
        await ingest(
            harness.db,
            settings,
            f"o-{user.id}",
            points_order,
            now=now,
            customer_id=stored.id,
            ordered_at=now - timedelta(days=20),
        )
    return stored


async def redeem_coffee(harness, user) -> str:
    await harness.send(updates.callback(user, "loy:r:COFFEE"))
    confirm = harness.api.sent("editMessageText", chat_id=user.id)[-1]
    yes = confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await harness.send(updates.callback(user, yes))
    return harness.api.sent("editMessageText", chat_id=user.id)[-1].text


def copy_buttons(harness, user) -> list[tuple[str, str]]:
    """(label, text copied) of each coupon's copy button, the first of its row."""
    markup = harness.last_markup_to(user) or {}
    return [(row[0]["text"], row[0]["copy_text"]["text"]) for row in markup.get("inline_keyboard", [])]


def qr_buttons(harness, user) -> list[str]:
    markup = harness.last_markup_to(user) or {}
    return [row[1]["callback_data"] for row in markup.get("inline_keyboard", [])]


async def test_a_redeemed_coupon_shows_its_expiry_and_coupons_lists_it_with_a_copy_button(harness):
    await joined(harness, NORA, points_order=20_000)
    text = await redeem_coffee(harness, NORA)
    code = re.search(r"<code>(R[A-Z0-9]{8})</code>", text).group(1)
    assert "Valid until Jun 13, 2026." in text  # 90 days after Mar 15 by default
    await harness.send(updates.command(NORA, "/coupons"))
    listing = harness.last_text_to(NORA)
    assert "Free coffee" in listing and code in listing and "valid until Jun 13, 2026" in listing
    assert copy_buttons(harness, NORA) == [(f"📋 Copy {code}", code)]


async def test_coupons_lists_only_issued_unexpired_ones_in_arabic_too(harness):
    sami = await joined(harness, SAMI)
    await harness.send(updates.command(SAMI, "/coupons"))
    assert "ليست لديك قسائم" in harness.last_text_to(SAMI) and harness.last_markup_to(SAMI) is None
    now = harness.clock.now()
    async with harness.db.session() as session:
        made = {
            name: await issue_coupon(
                session, customer_id=sami.id, source="reward", benefit=f"b-{name}", expires_at=now + days
            )
            for name, days in [
                ("live", timedelta(days=5)),
                ("expired", timedelta(seconds=-1)),
                ("used", timedelta(days=5)),
                ("void", timedelta(days=5)),
            ]
        }
        assert await coupons.mark_used(session, code=made["used"].code, now=now)
        assert await coupons.void_coupon(session, code=made["void"].code, now=now)
    await harness.send(updates.command(SAMI, "/coupons"))
    listing = harness.last_text_to(SAMI)
    assert "قسائمك" in listing and made["live"].code in listing and "b-live" in listing
    assert not any(made[name].code in listing for name in ("expired", "used", "void"))
    assert copy_buttons(harness, SAMI) == [(f"📋 نسخ {made['live'].code}", made["live"].code)]
    harness.clock.advance(days=6)  # the live one expires too
    await harness.send(updates.command(SAMI, "/coupons"))
    assert made["live"].code not in harness.last_text_to(SAMI)


async def test_two_concurrent_mark_used_give_one_success(db, settings):
    customer = await make_customer(db, settings, 6103)
    async with db.session() as session:
        coupon = await issue_coupon(
            session, customer_id=customer.id, source="reward", benefit="x", expires_at=NOW + timedelta(days=1)
        )

    async def till(staff: int) -> bool:
        async with db.session() as session:
            return await coupons.mark_used(session, code=coupon.code, now=NOW, used_by=staff)

    results = await asyncio.gather(till(1), till(2))
    assert sorted(results) == [False, True]
    async with db.read_session() as session:
        stored = await coupons.coupon_by_code(session, code=coupon.code)
        left = await coupons.unused_coupons(session, customer_id=customer.id, now=NOW)
    assert stored.state == "used" and stored.used_at == NOW and stored.used_by == (1 if results[0] else 2)
    assert left == []


async def test_used_void_and_expired_coupons_cannot_change_state(db, settings):
    customer = await make_customer(db, settings, 6104)
    async with db.session() as session:
        used, void, old = [
            await issue_coupon(session, customer_id=customer.id, source="x", benefit="x", expires_at=NOW + d)
            for d in (timedelta(days=1), timedelta(days=1), timedelta(days=-1))
        ]
        assert await coupons.mark_used(session, code=used.code, now=NOW)
        assert await coupons.void_coupon(session, code=void.code, now=NOW)
        assert not await coupons.void_coupon(session, code=used.code, now=NOW)  # a used coupon stays used
        assert not await coupons.mark_used(session, code=void.code, now=NOW)
        assert not await coupons.mark_used(session, code=old.code, now=NOW)  # expired
        assert not await coupons.mark_used(session, code="NOSUCHCODE", now=NOW)
    async with db.read_session() as session:
        states = [(await coupons.coupon_by_code(session, code=c.code)).state for c in (used, void, old)]
    assert states == ["used", "void", "issued"]


async def test_validity_and_minimum_order_from_the_settings(db, settings):
    custom = settings.model_copy(
        update={
            "loyalty_coupon_validity_days": 30,
            "loyalty_coupon_min_order": 20,
            "loyalty_welcome_bonus": 500,
        }
    )
    customer = await make_customer(db, custom, 6105)
    reward = custom.loyalty_programme.reward("COFFEE")
    async with db.session() as session:
        coupon, _ = await redeem(
            session, settings=custom, now=NOW, customer_id=customer.id, reward=reward, key="k"
        )
    assert coupon.expires_at == NOW + timedelta(days=30) and coupon.min_order_minor == 2000


async def test_validity_and_minimum_order_from_the_programme_file(db, settings, tmp_path):
    path = tmp_path / "programme.yaml"
    path.write_text(
        "tiers:\n  - {name: {en: M, ar: م}, min_spend: 0, multiplier: 1}\n"
        "validity_days: 45\n"
        "rewards:\n"
        "  - {id: TEA, cost: 10, benefit: {en: Tea, ar: شاي}}\n"
        "  - {id: CAKE, cost: 10, benefit: {en: Cake, ar: كعكة}, validity_days: 7, min_order: 15}\n",
        encoding="utf-8",
    )
    custom = settings.model_copy(update={"loyalty_programme_file": path, "loyalty_coupon_validity_days": 300})
    customer = await make_customer(db, custom, 6106)
    programme = custom.loyalty_programme

    async def spend(reward, key):
        async with db.session() as session:
            coupon, _ = await redeem(
                session, settings=custom, now=NOW, customer_id=customer.id, reward=reward, key=key
            )
        return coupon

    tea = await spend(programme.reward("TEA"), "t")
    cake = await spend(programme.reward("CAKE", "ar"), "c")
    assert tea.expires_at == NOW + timedelta(days=45) and tea.min_order_minor is None
    assert cake.expires_at == NOW + timedelta(days=7) and cake.min_order_minor == 1500
    assert cake.benefit == "كعكة"


async def test_the_qr_button_sends_the_code_as_a_qr_image_while_the_coupon_is_unused(harness):
    await joined(harness, NORA, points_order=20_000)
    code = re.search(r"<code>(R[A-Z0-9]{8})</code>", await redeem_coffee(harness, NORA)).group(1)
    await harness.send(updates.command(NORA, "/coupons"))
    [qr] = qr_buttons(harness, NORA)
    assert harness.buttons_to(NORA)[1] == ("🔳 QR code", qr)
    await harness.send(updates.callback(NORA, qr))
    photo = harness.api.sent("sendPhoto", chat_id=NORA.id)[-1]
    assert code in photo.params["caption"] and "Valid until Jun 13, 2026" in photo.params["caption"]
    upload = photo.params["_files"]["photo"]
    assert bytes(upload[1] if isinstance(upload, tuple) else upload).startswith(b"\x89PNG")
    await harness.send(updates.callback(SAMI, qr))  # someone else's coupon
    assert harness.api.sent("answerCallbackQuery")[-1].params.get("show_alert") is True
    async with harness.db.session() as session:
        assert await coupons.mark_used(session, code=code, now=harness.clock.now())
    await harness.send(updates.callback(NORA, qr))  # used since /coupons showed it
    assert harness.api.sent("answerCallbackQuery")[-1].params.get("show_alert") is True
    assert len(harness.api.sent("sendPhoto", chat_id=NORA.id)) == 1
