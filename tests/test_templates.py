"""Every message exists in English and Arabic, with the same buttons, and renders."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from bot.i18n import Templates, isolate, normalize_locale
from bot.resources import templates_dir

TEMPLATES = Templates(templates_dir(), globals_={"shop_name": "Shop", "currency": "USD"})


def test_every_template_exists_in_both_locales():
    english, arabic = TEMPLATES.template_names("en"), TEMPLATES.template_names("ar")
    assert english, "no templates found"
    assert english - arabic == set(), f"missing in templates/ar: {sorted(english - arabic)}"
    assert arabic - english == set(), f"missing in templates/en: {sorted(arabic - english)}"


MACRO_FILES = sorted(
    name
    for name in TEMPLATES.template_names("en")
    if "{% macro" in (templates_dir() / "en" / name).read_text(encoding="utf-8")
)


@pytest.mark.parametrize("name", MACRO_FILES)
def test_both_locales_define_the_same_macros(name):
    assert TEMPLATES.macro_names("en", name) == TEMPLATES.macro_names("ar", name)


@pytest.mark.parametrize("name", sorted(TEMPLATES.template_names("ar")))
def test_arabic_templates_are_written_in_arabic(name):
    source = (templates_dir() / "ar" / name).read_text(encoding="utf-8")
    assert any("\u0600" <= char <= "\u06ff" for char in source), f"ar/{name} has no Arabic text"


def test_values_are_escaped_and_isolated():
    assert str(isolate("<Tom & Jerry>")) == "\u2068&lt;Tom &amp; Jerry&gt;\u2069"


def test_labels_come_back_as_plain_text():
    assert TEMPLATES.label("ar", "onboarding/buttons.html", "language_name") == "العربية"
    assert TEMPLATES.text("en", "commands/help.html") == "What this bot can do"


def test_missing_values_fail_loudly_instead_of_rendering_blanks():
    with pytest.raises(UndefinedError):
        TEMPLATES.render("en", "onboarding/welcome.html")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ar", "ar"), ("ar-SA", "ar"), ("en-US", "en"), ("EN", "en"), ("fr", "en"), (None, "en"), ("", "en")],
)
def test_locale_from_telegram_language_code(code, expected):
    assert normalize_locale(code, "en") == expected
