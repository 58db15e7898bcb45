"""Hand-off end to end with the real `python -m bot run` process and a loopback fake Bot API: the
conversation is opened by one process and answered and closed after a restart, by another."""

from __future__ import annotations

import asyncio
import signal

from tests.conftest import MERCHANT
from tests.e2e_support import bot_process
from tests.fakes import updates
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api_server import FakeBotApiServer
from tests.faq_support import JOHN, relayed_ids, staff_reply


async def text_to(api: FakeBotApi, chat_id: int, needle: str) -> str:
    call = await api.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == chat_id and needle in (c.text or ""), timeout=30
    )
    return call.text or ""


async def stop(process) -> None:
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_hand_off_relays_both_ways_across_a_restart(db, db_url):
    api = FakeBotApi()
    async with FakeBotApiServer(api) as server:
        async with bot_process(server.url, db_url) as process:
            api.push_update(updates.command(JOHN, "/start"))
            await text_to(api, JOHN.id, "Welcome")
            api.push_update(updates.message(JOHN, "I want to talk to a human"))
            alert = await text_to(api, MERCHANT.id, "Conversation #1")
            assert "I want to talk to a human" in alert
            await text_to(api, JOHN.id, "passed your question to our team")
            await stop(process)
        (relayed,) = await relayed_ids(db, MERCHANT.id)

        async with bot_process(server.url, db_url) as process:
            api.push_update(staff_reply(MERCHANT, relayed, "Hello John, how can we help?"))
            copy = await api.wait_for(
                lambda c: c.method == "copyMessage" and c.chat_id == JOHN.id, timeout=30
            )
            assert int(copy.params["from_chat_id"]) == MERCHANT.id
            api.push_update(updates.message(JOHN, "My order 1042 is late"))
            assert "My order 1042 is late" in await text_to(api, MERCHANT.id, "💬")
            api.push_update(staff_reply(MERCHANT, relayed, "/close"))
            await text_to(api, JOHN.id, "closed this conversation")
            await text_to(api, MERCHANT.id, "Conversation #1 is closed")
            await stop(process)
