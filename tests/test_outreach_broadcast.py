"""/broadcast: segments, preview and confirm, progress in one edited message, cancel and stop."""

from __future__ import annotations

from datetime import timedelta

from bot.outreach import jobs
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.bot_api import blocked_by_user
from tests.outreach_support import SARA, add_customer, order, outbox_rows, started

PREVIEW_ID = 4242


def edits(harness) -> list[str]:
    return [
        call.params["text"] for call in harness.api.sent("editMessageText") if call.chat_id == MERCHANT.id
    ]


async def preview(harness, text: str) -> str:
    await harness.send(updates.command(MERCHANT, text))
    buttons = dict(harness.buttons_to(MERCHANT))
    return buttons.get("Send now", "")


async def tap(harness, data: str) -> None:
    await harness.send(updates.callback(MERCHANT, data, message_id=PREVIEW_ID))


async def test_usage_lists_the_segments_and_customers_are_refused(harness):
    await harness.send(updates.command(MERCHANT, "/broadcast"))
    usage = harness.last_text_to(MERCHANT)
    for segment in ("all", "active", "at-risk", "bronze", "silver", "gold"):
        assert f"<code>{segment}</code>" in usage
    await harness.send(updates.command(MERCHANT, "/broadcast vip Hello"))
    assert "Segments:" in harness.last_text_to(MERCHANT)
    await harness.send(updates.command(MERCHANT, "/broadcast all " + "x" * 3501))
    assert "too long" in harness.last_text_to(MERCHANT)
    await started(harness, SARA)
    await harness.send(updates.command(SARA, "/broadcast all Free stuff"))
    assert "for the shop team only" in harness.last_text_to(SARA)
    assert await outbox_rows(harness.db) == []


async def test_preview_confirm_and_progress_in_one_edited_message(harness):
    for n in range(4):
        await add_customer(harness.db, 8501 + n, locale="ar" if n == 3 else "en")
    go = await preview(harness, "/broadcast all Spring sale <b>today</b>\nSee you!")
    text = harness.last_text_to(MERCHANT)
    assert "<b>4 customers</b>" in text and "Spring sale &lt;b&gt;today&lt;/b&gt;\nSee you!" in text
    assert go.startswith("bc:go:") and await outbox_rows(harness.db) == []
    harness.api.fail("sendMessage", blocked_by_user(), chat_id=8502)
    await tap(harness, go)
    assert "0 of 4 sent" in edits(harness)[-1]
    await tap(harness, go)  # a second tap launches nothing more
    assert "already confirmed or cancelled" in harness.last_text_to(MERCHANT)
    await jobs.dispatch(harness.app)
    # On a line of its own (under plain trim_blocks it read "Broadcast done.3 of 4 sent").
    assert "✅ Broadcast done.\n3 of 4 sent · 1 blocked · 0 failed" in edits(harness)[-1]
    assert all(call.params["message_id"] == PREVIEW_ID for call in harness.api.sent("editMessageText"))
    assert "Spring sale" in harness.last_text_to(8501) and "/stop" in harness.last_text_to(8501)
    assert "أرسل /stop" in harness.last_text_to(8504)
    assert len(await outbox_rows(harness.db, "broadcast")) == 4


async def test_cancel_before_sending_sends_nothing(harness):
    await add_customer(harness.db, 8510)
    go = await preview(harness, "/broadcast all Hello")
    await tap(harness, go.replace("go", "no"))
    assert "Broadcast cancelled" in harness.last_text_to(MERCHANT)
    await tap(harness, go)
    assert "already confirmed or cancelled" in harness.last_text_to(MERCHANT)
    await jobs.dispatch(harness.app)
    assert harness.texts_to(8510) == []


async def test_stop_while_sending_cancels_what_is_left(harness):
    for n in range(3):
        await add_customer(harness.db, 8520 + n)
    go = await preview(harness, "/broadcast all Hello")
    await tap(harness, go)
    await tap(harness, go.replace("go", "stop"))
    assert "Broadcast stopped" in edits(harness)[-1] and "3 skipped" in edits(harness)[-1]
    await jobs.dispatch(harness.app)
    assert all(harness.texts_to(8520 + n) == [] for n in range(3))
    assert {row.state for row in await outbox_rows(harness.db)} == {"cancelled"}


async def test_segments_active_at_risk_and_tier(harness):
    now = harness.clock.now()
    active = await add_customer(harness.db, 8530)
    at_risk = await add_customer(harness.db, 8531)
    gold = await add_customer(harness.db, 8532)
    await add_customer(harness.db, 8533)  # never ordered
    await order(harness.db, active, "A", now - timedelta(days=10))
    await order(harness.db, at_risk, "B", now - timedelta(days=100))
    await order(harness.db, gold, "C", now - timedelta(days=20), amount=250_000)
    expected = {"active": [8530, 8532], "at-risk": [8531], "gold": [8532], "bronze": [8530, 8531, 8533]}
    for segment, chats in expected.items():
        go = await preview(harness, f"/broadcast {segment} News for {segment}")
        await tap(harness, go)
        await jobs.dispatch(harness.app)
        harness.clock.advance(days=2)  # past the frequency cap
        got = sorted(
            call.chat_id
            for call in harness.api.sent("sendMessage")
            if f"News for {segment}" in call.text and call.chat_id != MERCHANT.id
        )
        assert got == chats, segment
