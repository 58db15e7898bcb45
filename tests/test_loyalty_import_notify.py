"""`import-orders --notify`: messages are paced through PTB's rate limiter, a 429 is waited out and retried,
and the summary says how many notifications were sent and how many were not delivered."""

from __future__ import annotations

from bot.app import order_listeners
from bot.loyalty.cli import import_orders_command
from tests.fakes.bot_api import FakeBotApi, blocked_by_user, too_many_requests
from tests.fakes.bot_api_server import FakeBotApiServer
from tests.outreach_support import add_customer

IDS = (8101, 8102, 8103)


def csv_file(tmp_path, rows):
    path = tmp_path / "orders.csv"
    lines = [f"N-{n},{customer},12,2026-03-01\n" for n, customer in enumerate(rows)]
    path.write_text("order_id,customer,amount,created_at\n" + "".join(lines), encoding="utf-8")
    return path


async def test_429_is_waited_out_and_every_customer_is_told(db, settings, tmp_path, capsys):
    for telegram_id in IDS:
        await add_customer(db, telegram_id)
    api = FakeBotApi()
    api.fail("sendMessage", too_many_requests(retry_after=1), times=2)
    path = csv_file(tmp_path, [*map(str, IDS), "+15550001234"])  # the last one is not in Telegram yet
    async with FakeBotApiServer(api) as server:
        local = settings.model_copy(update={"telegram_api_url": server.url})
        assert await import_orders_command(local, str(path), listeners=order_listeners(), notify=True) == 0
    told = api.sent("sendMessage")
    assert len(told) == 5, "three notifications, two of them refused once with 429 and sent again"
    assert {call.chat_id for call in told} == set(IDS)
    assert all("points" in call.text for call in told)
    out = capsys.readouterr().out
    assert "imported 4 orders" in out
    assert "notifications: 3 sent, 0 not delivered" in out, "both 429s were retried, nothing lost"


async def test_blocked_customer_is_counted_as_not_delivered(db, settings, tmp_path, capsys):
    for telegram_id in IDS:
        await add_customer(db, telegram_id)
    api = FakeBotApi()
    api.fail("sendMessage", blocked_by_user(), chat_id=IDS[1])
    path = csv_file(tmp_path, map(str, IDS))
    async with FakeBotApiServer(api) as server:
        local = settings.model_copy(update={"telegram_api_url": server.url})
        assert await import_orders_command(local, str(path), listeners=order_listeners(), notify=True) == 0
    assert "notifications: 2 sent, 1 not delivered" in capsys.readouterr().out
