"""The referral rules as pure functions: reward specs, link payloads, the weekly cap's week."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from urllib.parse import quote
from zoneinfo import ZoneInfo

# A deep-link payload is "ref_" + the code; codes use loyalty's coupon alphabet (no 0/O/1/I).
PAYLOAD_PREFIX = "ref_"
CODE = re.compile(r"^[A-HJ-NP-Z2-9]{8}$")


@dataclass(frozen=True)
class RewardSpec:
    kind: str  # points, coupon or none
    points: int = 0
    benefit: str = ""


def parse_reward(spec: str) -> RewardSpec:
    """'points:200' | 'coupon:10% off your next order' | 'none' -> RewardSpec; ValueError otherwise."""
    kind, _, value = spec.strip().partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if kind == "none" and not value:
        return RewardSpec("none")
    if kind == "points":
        if not value.isdigit() or not 0 < int(value) <= 1_000_000:
            raise ValueError(f"{spec!r}: points must be a whole number from 1 to 1000000, e.g. points:200")
        return RewardSpec("points", points=int(value))
    if kind == "coupon":
        if not value or len(value) > 64:
            raise ValueError(f"{spec!r}: the coupon benefit must be 1 to 64 characters, e.g. coupon:10% off")
        return RewardSpec("coupon", benefit=value)
    raise ValueError(f"{spec!r} must be points:<n>, coupon:<benefit> or none")


@dataclass(frozen=True)
class ReferralRewards:
    """What each side gets when a referral converts (REFERRAL_REFERRER_REWARD, REFERRAL_REFEREE_REWARD)."""

    referrer: RewardSpec
    referee: RewardSpec


@lru_cache(maxsize=16)
def parse_referral_rewards(referrer_spec: str, referee_spec: str) -> ReferralRewards:
    """Both specs parsed once (cached on their text: `Settings.referral_rewards`); ValueError if bad."""
    return ReferralRewards(parse_reward(referrer_spec), parse_reward(referee_spec))


def referral_payload(code: str) -> str:
    return PAYLOAD_PREFIX + code


def code_from_payload(payload: str | None) -> str | None:
    """The referral code in a /start payload, '' for a garbled referral payload, None if not a referral."""
    if payload is None or not payload.startswith(PAYLOAD_PREFIX):
        return None
    code = payload[len(PAYLOAD_PREFIX) :].upper()
    return code if CODE.match(code) else ""


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={referral_payload(code)}"


def share_url(link: str, text: str) -> str:
    """Telegram's share sheet: lets the customer pick chats to send the link to."""
    return f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(text, safe='')}"


def min_order_minor(amount: Decimal, exponent: int) -> int:
    """The qualifying minimum in minor units, rounded up so it is never below the configured amount."""
    scaled = amount * (Decimal(10) ** exponent)
    return int(scaled.to_integral_value(rounding=ROUND_CEILING))


def week_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) in the shop's time zone around `moment`, as UTC datetimes."""
    local = moment.astimezone(zone).date()
    monday = local - timedelta(days=local.weekday())
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
