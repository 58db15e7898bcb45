"""FAQ "Did this help?" votes: one per customer and answer message, a second tap keeps or changes it, the
thank-you is sent once, and /faq list counts people (issue 15, point 2)."""

from __future__ import annotations

import pytest

from storage.faq_votes import VoteCounts, vote_counts
from tests.conftest import MERCHANT
from tests.fakes import updates
from tests.faq_support import AMIRA, JOHN, entry, handoffs, tap_data

GLAD = {JOHN: "Glad it helped", AMIRA: "يسعدنا"}
KEPT = {JOHN: "Your vote is already counted.", AMIRA: "تم احتساب تصويتك من قبل."}
CHANGED = {JOHN: "Your vote was changed.", AMIRA: "تم تغيير تصويتك."}
QUESTION = {JOHN: ("refund", "en"), AMIRA: ("الإرجاع", "ar")}


async def ask(harness, user) -> dict[str, str]:
    """The customer asks about returns; returns the vote buttons (label -> data) of the answer."""
    await harness.send(updates.message(user, QUESTION.get(user, QUESTION[JOHN])[0]))
    return tap_data(harness, user)


async def returns_votes(harness, locale: str) -> VoteCounts:
    returns = await entry(harness, "returns", locale)
    async with harness.db.read_session() as session:
        return (await vote_counts(session, entry_ids=[returns.id])).get(returns.id, VoteCounts())


def toast(harness) -> str | None:
    return harness.api.sent("answerCallbackQuery")[-1].params.get("text")


def ces_jobs(harness) -> int:
    return len([job for job in harness.app.job_queue.jobs() if job.name.startswith("survey-ces-")])


@pytest.mark.parametrize("user", [JOHN, AMIRA], ids=["en", "ar"])
async def test_a_double_tap_on_thumbs_up_votes_and_thanks_once(harness, user):
    buttons = list((await ask(harness, user)).values())
    helpful = buttons[0]
    await harness.send(updates.callback(user, helpful, message_id=50))
    await harness.send(updates.callback(user, helpful, message_id=50))
    assert sum(GLAD[user] in text for text in harness.texts_to(user)) == 1
    assert toast(harness) == KEPT[user]
    assert await returns_votes(harness, QUESTION[user][1]) == VoteCounts(1, 0)
    assert ces_jobs(harness) == 1, "one CES survey for one vote"


@pytest.mark.parametrize("user", [JOHN, AMIRA], ids=["en", "ar"])
async def test_a_second_tap_on_the_other_button_changes_the_vote(harness, user):
    helpful, unhelpful = (await ask(harness, user)).values()
    await harness.send(updates.callback(user, helpful, message_id=60))
    await harness.send(updates.callback(user, unhelpful, message_id=60))
    assert toast(harness) == CHANGED[user]
    assert await returns_votes(harness, QUESTION[user][1]) == VoteCounts(0, 1)
    assert len(await handoffs(harness)) == 1, "👎 still offers a person"
    await harness.send(updates.callback(user, helpful, message_id=60))
    assert toast(harness) == CHANGED[user]
    assert await returns_votes(harness, QUESTION[user][1]) == VoteCounts(1, 0)
    assert sum(GLAD[user] in text for text in harness.texts_to(user)) == 1, "thanked once"


async def test_faq_list_counts_people_not_taps(harness):
    helpful, _ = (await ask(harness, JOHN)).values()
    for message_id in (70, 70, 71, 72):  # John: a double tap, then the same answer asked twice more
        await harness.send(updates.callback(JOHN, helpful, message_id=message_id))
    lee = updates.TgUser(id=8003, first_name="Lee", language_code="en")
    _, unhelpful = (await ask(harness, lee)).values()
    await harness.send(updates.callback(lee, unhelpful, message_id=80))
    assert await returns_votes(harness, "en") == VoteCounts(1, 1)
    await harness.send(updates.command(MERCHANT, "/faq list en"))
    returns = await entry(harness, "returns", "en")
    listing = "\n".join(harness.texts_to(MERCHANT))
    assert f"<b>{returns.id}</b> · returns · en · 👁 " in listing and "· 👍 1 · 👎 1" in listing
