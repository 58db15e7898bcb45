"""The one place configuration is read from: environment variables and `.env`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Locale = Literal["en", "ar"]
LOCALES: tuple[str, ...] = ("en", "ar")


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

    # HTTP server (Telegram webhook, shop order webhooks, health check). PORT is what Heroku-like hosts set.
    port: int | None = Field(default=None, ge=1, le=65535)
    listen_host: str = "0.0.0.0"
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
    # Unspent points expire this many days after they became available (0 = never); spending uses the
    # oldest points first.
    loyalty_expiry_days: int = Field(default=0, ge=0, le=3650)
    # "Name:min spend in the last 12 months (currency units):earn multiplier", comma-separated, lowest first.
    loyalty_tiers: str = "Bronze:0:1,Silver:500:1.25,Gold:2000:1.5"
    # "id:points cost:benefit printed on the coupon", separated by ";".
    loyalty_rewards: str = "COFFEE:100:Free coffee;5OFF:250:5.00 off your next order;15PCT:600:15% off"
    # Orders above this amount (currency units) are refused as typos or forgeries.
    loyalty_max_order_amount: int = Field(default=100_000, ge=1)
    shopify_webhook_secret: SecretStr | None = None
    woocommerce_webhook_secret: SecretStr | None = None

    # --- analytics ---
    # A customer is active at a moment if they ordered in the CHURN_DAYS days before it; a customer active
    # at the start of a period and not at its end is lost (churned).
    churn_days: int = Field(default=90, ge=1, le=3650)
    # Months shown by /cohort (cohorts and months since first order) and by the /stats chart trend.
    analytics_months: int = Field(default=12, ge=2, le=36)

    templates_dir: Path = PROJECT_ROOT / "templates"
    log_level: str = "INFO"

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

    @field_validator("loyalty_tiers", "loyalty_rewards")
    @classmethod
    def _loyalty_spec(cls, value: str, info) -> str:
        from bot.loyalty.rules import parse_rewards, parse_tiers

        parse = parse_tiers if info.field_name == "loyalty_tiers" else parse_rewards
        parse(value)  # raises ValueError with a readable message
        return value

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


def load_settings(**overrides: object) -> Settings:
    """Read settings, raising SettingsError with a one-line explanation on bad input."""
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
