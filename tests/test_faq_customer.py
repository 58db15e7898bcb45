"""The FAQ for customers through the fake Bot API: seeding from the file, /faq buttons, answers to free
text in English and Arabic, the choice between two, gaps, and the "Did this help?" votes."""

from __future__ import annotations

from bot.faq import library
from bot.faq.cli import EXIT_BAD_FILE, import_faq_command
from storage.faq import delete_entry
from storage.faq_votes import VoteCounts, vote_counts
from tests.fakes import updates
from tests.faq_support import AMIRA, JOHN, entries, entry, gaps, handoffs, tap_data
from tests.surveys_support import surveys


async def test_the_sample_file_seeds_the_faq_once(harness):
    await harness.send(updates.command(JOHN, "/faq"))
    seeded = await entries(harness)
    assert len(seeded) == len(library.load_file(harness.app.bot_data["settings"].faq_file))
    # Another start (a fresh process) must not refill what merchants deleted.
    async with harness.db.session() as session:
        await delete_entry(session, entry_id=seeded[0].id)
    harness.app.bot_data.pop(library.SEEDED_KEY)
    library.forget_pool(harness.app.bot_data)
    await harness.send(updates.command(JOHN, "/faq"))
    assert len(await entries(harness)) == len(seeded) - 1


async def test_faq_command_shows_top_questions_in_the_customers_language(harness):
    await harness.send(updates.command(AMIRA, "/start"))
    await harness.send(updates.command(AMIRA, "/faq"))
    assert "الأسئلة الشائعة" in harness.last_text_to(AMIRA)
    labels = [label for label, _ in harness.buttons_to(AMIRA)]
    assert labels[0] == "كم تستغرق مدة التوصيل؟" and labels[-1] == "🙋 التحدث مع موظف"
    assert len(labels) == harness.app.bot_data["settings"].faq_top_questions + 1
    await harness.send(updates.command(JOHN, "/faq"))
    assert harness.buttons_to(JOHN)[0][0] == "How long does delivery take?"


async def test_tapping_a_question_answers_it_and_asks_if_it_helped(harness):
    await harness.send(updates.command(JOHN, "/faq"))
    await harness.send(updates.callback(JOHN, tap_data(harness, JOHN)["What is your return policy?"]))
    text = harness.last_text_to(JOHN)
    assert "<b>What is your return policy?</b>" in text and "within 14 days" in text
    assert text.endswith("Did this help?")
    returns = await entry(harness, "returns", "en")
    assert harness.buttons_to(JOHN) == [("👍 Yes", f"faqv:{returns.id}:1"), ("👎 No", f"faqv:{returns.id}:0")]
    assert returns.hits == 0, "answers are counted in memory and written in bulk (library.flush_hits)"
    # The most asked question moves to the top of /faq, which writes the counts first.
    await harness.send(updates.command(JOHN, "/faq"))
    assert harness.buttons_to(JOHN)[0][0] == "What is your return policy?"
    assert (await entry(harness, "returns", "en")).hits == 1


async def test_free_text_with_typos_gets_the_answer_in_english_and_arabic(harness):
    await harness.send(updates.message(JOHN, "when will my ordr arive?"))
    assert "1-2 working days" in harness.last_text_to(JOHN)
    await harness.send(updates.message(AMIRA, "الإرجاع خلال ١٤ يوم"))
    text = harness.last_text_to(AMIRA)
    assert "خلال 14 يومًا" in text and "هل أفادتك هذه الإجابة؟" in text
    assert [label for label, _ in harness.buttons_to(AMIRA)] == ["👍 نعم", "👎 لا"]


async def test_two_close_questions_are_offered_as_buttons(harness):
    await harness.send(updates.message(JOHN, "shipping"))
    assert "Did you mean one of these?" in harness.last_text_to(JOHN)
    labels = [label for label, _ in harness.buttons_to(JOHN)]
    assert labels == ["How long does delivery take?", "How much does shipping cost?", "🙋 Talk to a person"]
    await harness.send(updates.callback(JOHN, tap_data(harness, JOHN)["How much does shipping cost?"]))
    assert "free on orders over 200" in harness.last_text_to(JOHN)


async def test_an_unanswered_question_is_a_gap_and_offers_a_person(harness):
    await harness.send(updates.message(JOHN, "Do you sell gift cards?"))
    assert "couldn't find an answer" in harness.last_text_to(JOHN)
    (gap,) = await gaps(harness)
    assert (gap.text, gap.locale, gap.normalized) == (
        "Do you sell gift cards?",
        "en",
        "do you sell gift cards",
    )
    assert harness.buttons_to(JOHN) == [("🙋 Talk to a person", f"faqh:{gap.id}")]
    assert await handoffs(harness) == [], "nobody is bothered until the customer asks for a person"


async def test_thumbs_up_thanks_counts_and_queues_a_ces(harness):
    await harness.send(updates.command(JOHN, "/start"))
    await harness.send(updates.message(JOHN, "refund"))
    await harness.send(updates.callback(JOHN, tap_data(harness, JOHN)["👍 Yes"]))
    assert "Glad it helped" in harness.last_text_to(JOHN)
    assert harness.api.sent("editMessageReplyMarkup", chat_id=JOHN.id), "one vote per answer"
    returns = await entry(harness, "returns", "en")
    async with harness.db.read_session() as session:
        assert await vote_counts(session, entry_ids=[returns.id]) == {returns.id: VoteCounts(1, 0)}
    (job,) = [job for job in harness.app.job_queue.jobs() if job.name.startswith("survey-ces-")]
    assert "How easy" not in harness.last_text_to(JOHN), "the CES waits a few minutes"
    await job.run(harness.app)
    assert "How easy" in harness.last_text_to(JOHN)
    assert [(survey.kind, survey.trigger) for survey in await surveys(harness)] == [("ces", "faq")]


async def test_emoji_only_text_is_still_not_understood(harness):
    # 👍 and 🙏 are small talk (tests/test_faq_smalltalk.py); other emoji still say nothing to look up.
    await harness.send(updates.message(JOHN, "🦄🦄"))
    assert "didn't understand" in harness.last_text_to(JOHN)
    assert await gaps(harness) == []


async def test_the_faq_is_seeded_by_a_job_right_after_start(harness):
    (job,) = harness.app.job_queue.get_jobs_by_name("faq-seed")
    assert await entries(harness) == []
    await job.run(harness.app)
    assert len(await entries(harness)) == 16


async def test_faq_import_replaces_the_entries_it_names_and_keeps_the_rest(
    harness, settings, tmp_path, capsys
):
    await harness.send(updates.command(JOHN, "/faq"))  # seeded from the sample
    path = tmp_path / "faq.yaml"
    path.write_text(
        "entries:\n"
        "  - code: shipping\n"
        "    en: {question: 'How fast is delivery?', answer: Next day everywhere.}\n"
        "  - code: gifts\n"
        "    ar: {question: 'هل لديكم بطاقات هدايا؟', answer: نعم.}\n",
        encoding="utf-8",
    )
    assert await import_faq_command(settings, str(path)) == 0
    assert "2 FAQ entries imported" in capsys.readouterr().out
    shipping = await entry(harness, "shipping", "en")
    assert (shipping.question, shipping.answer) == ("How fast is delivery?", "Next day everywhere.")
    assert (await entry(harness, "gifts", "ar")).answer == "نعم."
    assert (await entry(harness, "shipping", "ar")).question == "كم تستغرق مدة التوصيل؟"
    assert len(await entries(harness)) == 17
    path.write_text("entries:\n  - code: x\n    en: {question: q}\n", encoding="utf-8")
    assert await import_faq_command(settings, str(path)) == EXIT_BAD_FILE
    assert "needs a question and an answer" in capsys.readouterr().err


async def test_faq_with_words_is_a_question(harness):
    await harness.send(updates.command(JOHN, "/faq size chart"))
    assert "Every product page has a size chart" in harness.last_text_to(JOHN)
    await harness.send(updates.command(JOHN, "/faq ?!"))
    assert "Frequently asked questions" in harness.last_text_to(JOHN)
