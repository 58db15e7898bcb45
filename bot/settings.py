"""The one place configuration is read from: environment variables and `.env`."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot import resources
from bot.loyalty.programme import LoyaltyProgramme, parse_loyalty_programme
from bot.loyalty.programme_file import load_programme_file, programme_of_file
from bot.loyalty.rules import parse_rewards, parse_tiers
from bot.referrals.rules import ReferralRewards, parse_referral_rewards, parse_reward

Locale = Literal["en", "ar"]
LOCALES: tuple[str, ...] = ("en", "ar")
BOT_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{1,100}$")
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
ASYNC_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
# URL schemes as hosts hand them out -> the async driver's scheme.
DATABASE_SCHEMES = {"sqlite://": "sqlite+aiosqlite://", "postgresql://": "postgresql+asyncpg://"}
DATABASE_SCHEMES["postgres://"] = DATABASE_SCHEMES["postgresql://"]


class Settings(BaseSettings):
    """Bot configuration; every field maps to an upper-case environment variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///engagement.db"
    telegram_api_url: str = "https://api.telegram.org"
    merchant_ids: Annotated[tuple[int, ...], NoDecode] = ()
    shop_name: str = "Our shop"
    shop_timezone: str = "UTC"
    default_locale: Locale = "en"
    currency: str = "USD"
    # ISO 4217 minor unit: amounts are stored as integers of 10**-exponent currency units.
    currency_exponent: int = Field(default=2, ge=0, le=4)
    # Digits of numbers and dates in Arabic messages: Latin (0-9) or Arabic-Indic (٠-٩). Typed digits of
    # either script (and Persian ۰-۹) are read whatever this says.
    arabic_digits: Literal["latin", "arabic"] = "latin"
    # Dates in Arabic messages: Gregorian, or Hijri (Umm al-Qura).
    arabic_calendar: Literal["gregorian", "hijri"] = "gregorian"

    # Updates handled at the same time. Different chats run concurrently, so a merchant's slow /export or a
    # slow Telegram call does not hold other customers' replies; one chat's (and one user's) updates still
    # run one at a time in arrival order (bot/update_processor.py), and waiting for them does not count.
    update_concurrency: int = Field(default=64, ge=1, le=1024)
    # Telegram's limit on messages per second over all chats. Replies and bulk sends share it: replies go at
    # once, bulk sends (capped by OUTREACH_RATE) use what replies leave (bot/send_budget.py).
    telegram_max_rate: float = Field(default=30.0, gt=0, le=1000)

    # HTTP server (Telegram webhook, shop order webhooks, health check). PORT is what Heroku-like hosts set.
    port: int | None = Field(default=None, ge=1, le=65535)
    listen_host: str = "0.0.0.0"  # noqa: S104  (a server on a PaaS must listen on every interface)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    # --- surveys ---
    # A survey's buttons work for this many days after it was sent; later taps are told it has closed.
    survey_validity_days: int = Field(default=7, ge=1)
    # A customer gets at most one survey of each type per this many days (all triggers, /survey included).
    survey_throttle_days: int = Field(default=30, ge=0)
    # CSAT goes out this many hours after a paid order; 0 turns the purchase trigger off.
    survey_csat_delay_hours: int = Field(default=24, ge=0)
    # NPS goes to customers who ordered in the last survey_nps_active_days, at most once per
    # survey_nps_interval_days; an interval of 0 turns the periodic NPS off.
    survey_nps_interval_days: int = Field(default=90, ge=0)
    survey_nps_active_days: int = Field(default=90, ge=1)
    # How long the "why?" question waits for a free-text reason (never past the survey's validity).
    survey_reason_hours: int = Field(default=24, ge=1)
    # Within that time a Telegram reply to the "why?" message is always the reason; plain text counts only
    # if it is the first one sent within this many minutes of the score (0 = only replies count). Later
    # text goes on to the FAQ, so a real question the same day is answered.
    survey_reason_free_text_minutes: int = Field(default=10, ge=0, le=1440)
    # Points for answering a survey; 0 = no reward.
    survey_reward_points: int = Field(default=0, ge=0)
    # How often the trigger sweep runs, and how many surveys one sweep may send at most.
    survey_sweep_minutes: int = Field(default=15, ge=1)
    survey_sweep_batch: int = Field(default=100, ge=1)

    # --- loyalty ---
    # Points earned per whole currency unit spent, before the tier multiplier (fractions are rounded down).
    loyalty_points_per_unit: Decimal = Field(default=Decimal(1), ge=0, le=1000)
    loyalty_welcome_bonus: int = Field(default=50, ge=0, le=1_000_000)
    # Earned points stay pending (not spendable) for the return window, then become available.
    loyalty_pending_days: int = Field(default=14, ge=0, le=365)
    # Unspent points expire after this many days without activity (purchase, redemption, bonus), never
    # sooner after they became available (0 = never); spending uses the oldest points first.
    loyalty_expiry_days: int = Field(default=0, ge=0, le=3650)
    # "Name:min spend in the last 12 months (currency units):earn multiplier", comma-separated, lowest first;
    # a name may be "English|Arabic".
    loyalty_tiers: str = "Bronze|البرونزي:0:1,Silver|الفضي:500:1.25,Gold|الذهبي:2000:1.5"
    # "id:points cost:benefit printed on the coupon", separated by ";"; a benefit may be "English|Arabic".
    loyalty_rewards: str = (
        "COFFEE:100:Free coffee|قهوة مجانية;5OFF:250:5.00 off your next order|خصم 5.00 على طلبك القادم;"
        "15PCT:600:15% off|خصم 15%"
    )
    # Days a reward's coupon stays valid, and the smallest order (currency units, 0 = any) it applies to;
    # a programme file sets these itself (validity_days, and per reward validity_days and min_order).
    loyalty_coupon_validity_days: int = Field(default=90, ge=1, le=3650)
    loyalty_coupon_min_order: int = Field(default=0, ge=0)
    # A YAML programme file (tiers and rewards with their English and Arabic texts, e.g. data/programme.yaml,
    # see docs/loyalty.md); when set, LOYALTY_TIERS and LOYALTY_REWARDS are not used.
    loyalty_programme_file: Path | None = None
    # Orders above this amount (currency units) are refused as typos or forgeries.
    loyalty_max_order_amount: int = Field(default=100_000, ge=1)
    shopify_webhook_secret: SecretStr | None = None
    woocommerce_webhook_secret: SecretStr | None = None

    # --- referrals ---
    # What each side gets when a referral converts: "points:<n>", "coupon:<benefit printed on the coupon>"
    # (max 64 characters) or "none".
    referral_referrer_reward: str = "points:200"
    referral_referee_reward: str = "points:100"
    # The referee's first paid order of at least this many currency units qualifies (0 = any paid order).
    referral_min_order_amount: Decimal = Field(default=Decimal(10), ge=0, le=1_000_000)
    # Rewarded referrals per referrer per week (Monday to Sunday, shop time zone); 0 = no cap. Conversions
    # beyond the cap are recorded but not rewarded.
    referral_weekly_cap: int = Field(default=10, ge=0)
    # How often the sweep that rewards referrals whose return window has ended runs.
    referral_sweep_minutes: int = Field(default=60, ge=1)

    # --- faq ---
    # The FAQ file that seeds the FAQ on first run (later edits live in the database; see docs/faq.md).
    # Default: the sample shipped inside the package (bot/data/faq.yaml once installed).
    faq_file: Path = Field(default_factory=resources.sample_faq_file)
    # Greetings, thanks, goodbyes and acknowledgements answered in kind, never searched in the FAQ (read
    # at start; see docs/faq.md). Default: the phrases shipped inside the package (data/smalltalk.yaml).
    smalltalk_file: Path = Field(default_factory=resources.sample_smalltalk_file)
    # Free text scoring at least this (0-100) against an entry's question or phrasings gets its answer.
    faq_match_threshold: int = Field(default=70, ge=1, le=100)
    # When the two best entries score within this many points of each other, both are offered as buttons.
    faq_ambiguity_margin: int = Field(default=5, ge=0, le=100)
    # How many questions /faq shows as buttons (most asked first).
    faq_top_questions: int = Field(default=6, ge=1, le=20)
    # /faq gaps covers unanswered questions of this many days.
    faq_gaps_days: int = Field(default=30, ge=1)
    # Where hand-off conversations go: a group or chat id; unset = every merchant's private chat.
    support_chat_id: int | None = None
    # A conversation nobody wrote in for this many hours closes itself on the customer's next message
    # (0 = only staff close conversations).
    handoff_idle_hours: int = Field(default=72, ge=0)
    # --- outreach ---
    # Birthday greetings go out from this local hour (shop time zone, or the customer's own) with these
    # bonus points (0 = greeting only); a birthday set or changed fewer than birthday_lock_days before it
    # earns no points that year. A greeting missed by downtime is still sent up to catch_up days late.
    outreach_birthday_hour: int = Field(default=10, ge=0, le=23)
    outreach_birthday_points: int = Field(default=100, ge=0)
    outreach_birthday_lock_days: int = Field(default=30, ge=0)
    outreach_birthday_catch_up_days: int = Field(default=2, ge=0, le=30)
    # Win-back: a customer has lapsed after factor x the median days between their orders, bounded to
    # [min, max] days; one-time buyers after one_time days. Stages ("we miss you", coupon, last chance) are
    # stage_days apart; the coupon (text below) is valid coupon_days.
    outreach_winback_factor: Decimal = Field(default=Decimal(2), gt=0, le=100)
    outreach_winback_min_days: int = Field(default=30, ge=1)
    outreach_winback_max_days: int = Field(default=180, ge=1)
    outreach_winback_one_time_days: int = Field(default=60, ge=1)
    outreach_winback_stage_days: int = Field(default=7, ge=1)
    outreach_winback_coupon: str = Field(default="10% off your next order", min_length=1, max_length=64)
    outreach_winback_coupon_days: int = Field(default=14, ge=1)
    # Days before an unused coupon expires that its owner is reminded of it (0: no reminders).
    outreach_coupon_reminder_days: int = Field(default=3, ge=0, le=365)
    # Segments: "active" ordered within active_days; customers with no order for lost_days are lost
    # (neither at-risk nor sent win-backs).
    outreach_active_days: int = Field(default=90, ge=1)
    outreach_lost_days: int = Field(default=365, ge=1)
    # No marketing message between these local hours (start == end: no quiet hours); it waits until the end.
    outreach_quiet_start: int = Field(default=21, ge=0, le=23)
    outreach_quiet_end: int = Field(default=9, ge=0, le=23)
    # Frequency cap across birthday, win-back and broadcast messages: at most cap_messages per cap_hours
    # per customer (0 hours = no cap); later ones wait.
    outreach_cap_messages: int = Field(default=1, ge=1)
    outreach_cap_hours: int = Field(default=24, ge=0)
    # Marketing messages still unsent this many hours after falling due are dropped.
    outreach_expiry_hours: int = Field(default=48, ge=1)
    # At most this many bulk and scheduled sends per second, all chats together; each chat gets at most one
    # per second. They also only use what customer replies leave of TELEGRAM_MAX_RATE.
    outreach_rate: float = Field(default=25.0, gt=0, le=1000)
    # A message claimed but not confirmed sent this long ago (the bot died mid-send) is sent again.
    outreach_claim_timeout_seconds: int = Field(default=60, ge=1)
    # Transient failures (timeouts, network) are retried this many times, a minute apart.
    outreach_max_attempts: int = Field(default=5, ge=1)
    # How often campaigns are swept for due messages, and how often the outbox is checked for due rows.
    outreach_sweep_minutes: int = Field(default=15, ge=1)
    outreach_dispatch_seconds: int = Field(default=10, ge=1)
    # --- analytics ---
    # A customer is active at a moment if they ordered in the CHURN_DAYS days before it; a customer active
    # at the start of a period and not at its end is lost (churned).
    churn_days: int = Field(default=90, ge=1, le=3650)
    # Months shown by /cohort (cohorts and months since first order) and by the /stats chart trend.
    analytics_months: int = Field(default=12, ge=2, le=36)

    # Message templates; default: the ones shipped inside the package. A shop may point at its own copy.
    templates_dir: Path = Field(default_factory=resources.templates_dir)
    log_level: str = "INFO"
    # "text" (one readable line per record) or "json" (one JSON object per line, for log collectors).
    log_format: Literal["text", "json"] = "text"

    @field_validator("merchant_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            try:
                return tuple(int(part) for part in parts)
            except ValueError:
                raise ValueError("must be comma-separated Telegram user ids, e.g. 12345,67890") from None
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Empty is "missing" (reported by check_run_settings); anything else must look like BotFather's.
        if value is not None and value.get_secret_value() and not BOT_TOKEN.match(value.get_secret_value()):
            raise ValueError("must look like 123456789:AAE... as given by @BotFather")
        return value

    @field_validator("webhook_secret", "shopify_webhook_secret", "woocommerce_webhook_secret")
    @classmethod
    def _blank_secret_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        # `SHOPIFY_WEBHOOK_SECRET=` in a .env must not mean "signed with the empty key", which anyone can do.
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule)")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_database_url(cls, value: str) -> str:
        # Hosts hand out postgres:// and postgresql:// URLs; the bot needs the async drivers.
        for plain, driver in DATABASE_SCHEMES.items():
            if value.startswith(plain):
                value = driver + value.removeprefix(plain)
                break
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL, e.g. sqlite+aiosqlite:///engagement.db") from None
        if url.drivername not in ASYNC_DRIVERS:
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in logging.getLevelNamesMapping():
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @field_validator("shop_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Riyadh") from None
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("must be a three-letter ISO 4217 code such as SAR or USD")
        return value.upper()

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("loyalty_max_order_amount")
    @classmethod
    def _amount_fits_the_database(cls, value: int, info) -> int:
        # Amounts are stored in minor units in 32-bit integer columns.
        exponent = info.data.get("currency_exponent", 2)
        largest = (2**31 - 1) // 10**exponent
        if value > largest:
            raise ValueError(f"at most {largest} with CURRENCY_EXPONENT={exponent}")
        # So are the points one order earns.
        tiers, rewards = info.data.get("loyalty_tiers"), info.data.get("loyalty_rewards")
        programme = parse_loyalty_programme(tiers, rewards) if tiers and rewards else None
        if info.data.get("loyalty_programme_file") is not None:
            programme = programme_of_file(info.data["loyalty_programme_file"])
        multiplier = programme.highest_multiplier if programme else Decimal(1)
        if value * info.data.get("loyalty_points_per_unit", Decimal(1)) * multiplier > 2**31 - 1:
            raise ValueError(
                "an order this large would earn more points than can be stored; lower it or "
                "LOYALTY_POINTS_PER_UNIT"
            )
        return value

    # Programme rules are checked here, so a bad one stops the start with a line naming its setting, and
    # parsed here once: the typed programme is cached on the text (see the properties below).
    @field_validator("loyalty_tiers")
    @classmethod
    def _loyalty_tiers(cls, value: str) -> str:
        parse_tiers(value)  # raises ValueError with a readable message
        return value

    @field_validator("loyalty_rewards")
    @classmethod
    def _loyalty_rewards(cls, value: str, info) -> str:
        tiers = info.data.get("loyalty_tiers")  # absent when LOYALTY_TIERS itself was refused
        if tiers is None:
            parse_rewards(value)
        else:
            parse_loyalty_programme(tiers, value)
        return value

    @field_validator("loyalty_programme_file", mode="before")
    @classmethod
    def _blank_file_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("loyalty_programme_file")
    @classmethod
    def _programme_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            load_programme_file(value)  # read once, now; raises naming the file, line and field
        return value

    @field_validator("referral_referrer_reward")
    @classmethod
    def _referrer_reward(cls, value: str) -> str:
        parse_reward(value)  # raises ValueError with a readable message
        return value

    @field_validator("referral_referee_reward")
    @classmethod
    def _referee_reward(cls, value: str, info) -> str:
        referrer = info.data.get("referral_referrer_reward")
        if referrer is None:
            parse_reward(value)
        else:
            parse_referral_rewards(referrer, value)
        return value

    @property
    def loyalty_programme(self) -> LoyaltyProgramme:
        """The programme file's tiers and rewards, else LOYALTY_TIERS and LOYALTY_REWARDS, as typed tiers and
        rewards (read or parsed at validation, cached)."""
        if self.loyalty_programme_file is not None:
            return programme_of_file(self.loyalty_programme_file)
        return parse_loyalty_programme(
            self.loyalty_tiers,
            self.loyalty_rewards,
            self.loyalty_coupon_validity_days,
            self.loyalty_coupon_min_order or None,
        )

    @property
    def referral_rewards(self) -> ReferralRewards:
        """REFERRAL_REFERRER_REWARD and REFERRAL_REFEREE_REWARD, parsed (at validation, cached)."""
        return parse_referral_rewards(self.referral_referrer_reward, self.referral_referee_reward)

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.shop_timezone)

    def is_merchant(self, telegram_id: int | None) -> bool:
        return telegram_id is not None and telegram_id in self.merchant_ids


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


def describe_validation_error(error: ValidationError) -> str:
    """Turn pydantic's report into one line naming the first bad setting."""
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "settings"
    message = first["msg"].removeprefix("Value error, ")
    return f"setting {name} is invalid: {message}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings, raising SettingsError with a one-line explanation on bad input.

    `overrides` are raw setting values of any type: pydantic validates and converts them.
    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


def check_run_settings(settings: Settings, *, webhook: bool) -> None:
    """Settings that are optional for `migrate` but required to run the bot."""
    if settings.bot_token is None or not settings.bot_token.get_secret_value():
        raise SettingsError("setting BOT_TOKEN is missing: get one from @BotFather")
    if webhook and settings.webhook_url is None:
        raise SettingsError("setting WEBHOOK_URL is missing: the public https URL Telegram should call")
    if webhook and settings.port is None:
        raise SettingsError("setting PORT is missing: the port the webhook server listens on")
