"""Loyalty templates: menu descriptions and translated refusals; the expiry job's scheduling."""

from __future__ import annotations

from bot.i18n import Templates
from bot.loyalty import award_handlers as loyalty_award
from bot.loyalty import handlers as loyalty
from bot.loyalty.expiry import schedule
from bot.resources import templates_dir

TEMPLATES = Templates(templates_dir())


def test_every_loyalty_command_has_a_menu_description_in_both_languages():
    commands = (*loyalty.CUSTOMER_COMMANDS, *loyalty_award.MERCHANT_COMMANDS)
    for locale in ("en", "ar"):
        for command in commands:
            assert TEMPLATES.text(locale, f"commands/{command}.html").strip()


def test_arabic_award_reasons_are_all_translated():
    for reason in ("amount_too_large", "amount_zero", "amount_precision", "order_id", "amount_format"):
        en = TEMPLATES.render("en", "loyalty/award_bad.html", reason=reason, currency="USD")
        ar = TEMPLATES.render("ar", "loyalty/award_bad.html", reason=reason, currency="USD")
        assert en and ar and en != ar


async def test_expiry_job_is_scheduled_only_when_expiry_is_on(harness):
    assert harness.app.job_queue.get_jobs_by_name("loyalty-expiry") == ()
    harness.app.bot_data["settings"] = harness.app.bot_data["settings"].model_copy(
        update={"loyalty_expiry_days": 90}
    )
    schedule(harness.app)
    job = harness.app.job_queue.get_jobs_by_name("loyalty-expiry")[0]
    assert job.job.misfire_grace_time == 3600
