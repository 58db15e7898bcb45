"""Every button tap is answered: unknown, forged, oversized and outdated data get the localized "no longer
active" alert and change nothing; merchant-only buttons answer customers with an alert; a shared contact
without a sender is refused (issue 15, points 3 and 11)."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from storage.models import Broadcast, Customer, FaqAnswerVote, FaqEntry, Handoff, RedeemToken
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.fakes.updates import TgUser

JOHN = TgUser(id=8101, first_name="John", language_code="en")
AMIRA = TgUser(id=8102, first_name="أميرة", language_code="ar")
INACTIVE = {JOHN: "This button is no longer active.", AMIRA: "هذا الزر لم يعد نشطًا."}
SHOP_TEAM = {JOHN: "This button is for the shop team only.", AMIRA: "هذا الزر مخصص لفريق المتجر فقط."}


async def counts(harness) -> dict[str, int]:
    """Rows of the tables a tap could write to."""
    async with harness.db.read_session() as session:
        tables = (Customer, FaqAnswerVote, Handoff, RedeemToken, Broadcast, FaqEntry)
        return {t.__name__: (await session.exec(select(func.count()).select_from(t))).one() for t in tables}


def last_answer(harness):
    return harness.api.sent("answerCallbackQuery")[-1].params


def messages_to(harness, user: TgUser) -> int:
    methods = ("sendMessage", "editMessageText")
    return sum(len(harness.api.sent(method, chat_id=user.id)) for method in methods)


FORGED = [
    "random-junk",
    "faqv:2147483648:1",  # out of INTEGER range: on PostgreSQL it failed in the query
    "faq:99999999999",
    "faqh:99999999999",
    "faqdel:99999999999",
    "loy:h:99999999",
    "loy:y:COFFEE",  # outdated shape
    "loy:q:99999999999",
    "loy:q:7",  # a coupon that does not exist
    "sv:1:" + "9" * 40,
    "faqv:1:1" + "0" * 70,  # longer than Telegram's 64 bytes
]


@pytest.mark.parametrize("user", [JOHN, AMIRA], ids=["en", "ar"])
async def test_unknown_forged_and_oversized_data_get_the_alert_and_change_nothing(harness, user):
    await harness.send(updates.command(user, "/start"))
    before, sent = await counts(harness), messages_to(harness, user)
    for data in FORGED:
        await harness.send(updates.callback(user, data))
        answer = last_answer(harness)
        assert (answer.get("text"), answer.get("show_alert")) == (INACTIVE[user], True), data
    assert len(harness.api.sent("answerCallbackQuery")) == len(FORGED), "each tap answered once"
    assert await counts(harness) == before and messages_to(harness, user) == sent


async def test_a_tap_from_someone_unknown_registers_nobody(harness):
    before = await counts(harness)
    await harness.send(updates.callback(JOHN, "faqv:2147483648:1"))
    assert last_answer(harness)["text"] == INACTIVE[JOHN]
    tap = updates.callback(AMIRA, "x")
    del tap["callback_query"]["data"]  # a query without data: PTB's pattern handlers would all take it
    await harness.send(tap)
    assert last_answer(harness)["text"] == INACTIVE[AMIRA]
    assert await counts(harness) == before


@pytest.mark.parametrize("user", [JOHN, AMIRA], ids=["en", "ar"])
async def test_a_vote_for_a_deleted_faq_entry_opens_no_hand_off(harness, user):
    await harness.send(updates.command(user, "/faq"))  # seeds the FAQ
    before, sent = await counts(harness), messages_to(harness, user)
    await harness.send(updates.callback(user, "faqv:99999:0"))
    assert last_answer(harness)["text"] == INACTIVE[user] and last_answer(harness)["show_alert"] is True
    assert await counts(harness) == before and messages_to(harness, user) == sent


@pytest.mark.parametrize("user", [JOHN, AMIRA], ids=["en", "ar"])
async def test_merchant_only_buttons_answer_a_customer_with_an_alert(harness, user):
    await harness.send(updates.command(MERCHANT, "/broadcast all Spring sale"))
    await harness.send(updates.command(user, "/faq"))
    before, sent = await counts(harness), messages_to(harness, user)
    for data in ("bc:go:1", "bc:stop:1", "bc:no:1", "faqdel:1", "faqkeep", "faqcancel"):
        await harness.send(updates.callback(user, data))
        answer = last_answer(harness)
        assert (answer.get("text"), answer.get("show_alert")) == (SHOP_TEAM[user], True), data
    assert await counts(harness) == before and messages_to(harness, user) == sent, "no chat message"
    async with harness.db.read_session() as session:
        assert [b.state for b in (await session.exec(select(Broadcast))).all()] == ["draft"]


async def test_a_shared_contact_without_a_sender_is_refused(harness):
    await harness.send(updates.command(JOHN, "/start"))
    before = await counts(harness)
    shared = updates.contact(JOHN, "+15550001111")
    del shared["message"]["from"]
    await harness.send(shared)  # the harness fails the test if a handler raised
    assert "your own phone number" in harness.last_text_to(JOHN)
    async with harness.db.read_session() as session:
        assert [c.phone for c in (await session.exec(select(Customer))).all()] == [None]
    assert await counts(harness) == before
