"""Numbers, money, percentages, dates and plurals in English and Arabic, by Babel (CLDR), as Jinja filters.

Every template formats with these (bot/i18n.py registers them), so a message never shows "1 responses",
an ISO date or a UTC day: `{{ n|number }}`, `{{ minor|money }}`, `{{ rate|percent }}`, `{{ moment|date }}`,
`{{ day|birthday }}` and `{{ plural(n, one="{n} point", other="{n} points") }}`. The locale is the
one of the template's folder (`ar/…`), so a macro imported without context formats in its own language.
Arabic messages use Latin digits unless ARABIC_DIGITS=arabic, and Gregorian dates unless
ARABIC_CALENDAR=hijri (Umm al-Qura, by hijridate).
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import NumberPattern, format_currency, format_decimal, format_percent
from hijridate import Gregorian
from jinja2 import pass_context
from jinja2.runtime import Context

if TYPE_CHECKING:
    from bot.settings import Settings

# What customers and merchants type: Arabic-Indic (٠-٩) and Eastern Arabic-Indic, as on Persian and Urdu
# keyboards (۰-۹), digits read as the Latin ones.
TYPED_DIGITS = str.maketrans(
    {**{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)}}
)
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")
# A birthday given without a year is stored in this leap year, so 29 February fits.
NO_YEAR = 1904


def latin_digits(text: str) -> str:
    """'١٢٫٥' -> '12٫5', '۲۵-۱۲' -> '25-12': typed digits of any of the three scripts, as Latin digits."""
    return text.translate(TYPED_DIGITS)


@dataclass(frozen=True)
class Formats:
    """The shop's formatting settings, one per application (hashable: it is a template global)."""

    zone: str = "UTC"
    currency: str = "USD"
    exponent: int = 2
    arabic_digits: bool = False
    hijri: bool = False

    @classmethod
    def of(cls, settings: Settings) -> Formats:
        return cls(
            zone=settings.shop_timezone,
            currency=settings.currency,
            exponent=settings.currency_exponent,
            arabic_digits=settings.arabic_digits == "arabic",
            hijri=settings.arabic_calendar == "hijri",
        )

    def numbering(self, locale: str) -> str:
        return "arab" if locale == "ar" and self.arabic_digits else "latn"

    def digits(self, locale: str, text: str) -> str:
        """Babel's text in the digits of the locale (Babel's numbering systems change the separators only)."""
        return text.translate(_ARABIC_INDIC) if self.numbering(locale) == "arab" else text

    def number(
        self, locale: str, value: float | Decimal, *, decimals: int | None = None, signed: bool = False
    ) -> str:
        pattern = None
        if decimals is not None:
            pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        if signed:
            pattern = f"+{pattern or '#,##0.###'};-{pattern or '#,##0.###'}"
        text = format_decimal(value, format=pattern, locale=locale, numbering_system=self.numbering(locale))
        return self.digits(locale, text)

    def money(self, locale: str, minor: int) -> str:
        """'$25.50', '‏25.50 US$': the locale's currency pattern with CURRENCY_EXPONENT decimals."""
        amount = Decimal(minor) / (Decimal(10) ** self.exponent)
        text = format_currency(
            amount,
            self.currency,
            format=_money_pattern(locale, self.exponent),
            locale=locale,
            currency_digits=False,
            numbering_system=self.numbering(locale),
        )
        return self.digits(locale, text)

    def percent(self, locale: str, value: float | Decimal, *, decimals: int = 1) -> str:
        """`value` in percent: 12.5 -> '12.5%', 40 -> '40.0%' (`decimals` always shown)."""
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
        text = format_percent(
            Decimal(str(value)) / 100, format=pattern, locale=locale, numbering_system=self.numbering(locale)
        )
        return self.digits(locale, text)

    def local_date(self, value: date | datetime) -> date:
        """A moment as the shop's calendar day (stored moments are UTC, naive or aware); a date as it is."""
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            return aware.astimezone(ZoneInfo(self.zone)).date()
        return value

    def calendar_date(self, locale: str, value: date | datetime, *, long: bool = False) -> str:
        """'Mar 1, 2026' / '1 مارس 2026' (or '12 رمضان 1447 هـ'); `long`: 'March 1, 2026' in English."""
        day = self.local_date(value)
        if locale == "ar" and self.hijri:
            return self.digits(locale, hijri(day))
        text = format_date(day, format="long" if long or locale != "en" else "medium", locale=locale)
        return self.digits(locale, text)

    def birthday(self, locale: str, value: date) -> str:
        """'25 December', or with its year '25 December 1990' (in Hijri when chosen: a day and month
        without a year has no fixed Hijri date, so those stay Gregorian)."""
        if value.year != NO_YEAR:
            return self.calendar_date(locale, value, long=True)
        return self.digits(locale, format_skeleton("MMMMd", value, locale=locale))

    def plural(self, locale: str, count: float | Decimal, forms: dict[str, str]) -> str:
        """The CLDR plural form of `count` in `locale`, '{n}' replaced by the formatted number."""
        unknown = set(forms) - set(PLURAL_FORMS)
        if unknown or "other" not in forms:
            raise ValueError(f"plural forms need 'other' and come from {PLURAL_FORMS}: {sorted(forms)}")
        form = plural_form(locale, count)
        text = forms.get(form, forms["other"])
        number = self.number(locale, count)
        # In Arabic the number is isolated, as every value is (bot/i18n.py: isolate).
        return text.replace("{n}", f"\u2068{number}\u2069" if locale == "ar" else number)


@cache
def _locale(locale: str) -> Locale:
    return Locale.parse(locale)


@cache
def _money_pattern(locale: str, exponent: int) -> NumberPattern:
    pattern = copy(_locale(locale).currency_formats["standard"])
    pattern.frac_prec = (exponent, exponent)
    return pattern


def plural_form(locale: str, count: float | Decimal) -> str:
    return str(_locale(locale).plural_form(abs(Decimal(str(count)))))


def hijri(day: date) -> str:
    """'12 رمضان 1447 هـ' (Umm al-Qura; hijridate covers 1343–1500 AH, earlier or later days Gregorian)."""
    try:
        moment = Gregorian(day.year, day.month, day.day).to_hijri()
    except OverflowError:
        return format_date(day, format="long", locale="ar")
    return f"{moment.day} {moment.month_name('ar')} {moment.year} هـ"


DEFAULT = Formats()


def _formats(context: Context) -> Formats:
    found = context.get("formats")
    return found if isinstance(found, Formats) else DEFAULT


def locale_of(context: Context) -> str:
    """The template's own locale folder (`ar/loyalty/labels.html` -> ar), else the caller's locale."""
    name = context.name or ""
    head = name.split("/", 1)[0]
    if head in ("en", "ar"):
        return head
    return str(context.get("locale") or "en")


@pass_context
def number_filter(context: Context, value: Any, decimals: int | None = None, signed: bool = False) -> str:
    return _formats(context).number(locale_of(context), value, decimals=decimals, signed=signed)


@pass_context
def money_filter(context: Context, minor: int) -> str:
    return _formats(context).money(locale_of(context), minor)


@pass_context
def percent_filter(context: Context, value: Any, decimals: int = 1) -> str:
    return _formats(context).percent(locale_of(context), value, decimals=decimals)


@pass_context
def date_filter(context: Context, value: date | datetime) -> str:
    return _formats(context).calendar_date(locale_of(context), value)


@pass_context
def birthday_filter(context: Context, value: date) -> str:
    return _formats(context).birthday(locale_of(context), value)


@pass_context
def plural_global(context: Context, count: Any, **forms: str) -> str:
    return _formats(context).plural(locale_of(context), count, forms)


FILTERS = {
    "number": number_filter,
    "money": money_filter,
    "percent": percent_filter,
    "date": date_filter,
    "birthday": birthday_filter,
}
GLOBALS = {"plural": plural_global}


def template_globals(settings: Settings) -> dict[str, Any]:
    """What every template may use besides its own values."""
    return {"shop_name": settings.shop_name, "currency": settings.currency, "formats": Formats.of(settings)}
