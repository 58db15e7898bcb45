"""The loyalty rules as pure functions: tiers, reward catalogue, points for an amount, money parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from bot.formatting import latin_digits

# Rolling window of spend that decides the tier.
TIER_WINDOW_DAYS = 365
REWARD_ID = re.compile(r"^[A-Za-z0-9_-]{1,24}$")
# Amount spellings: "1,234.50" has thousands separators; "1,234" alone is ambiguous.
THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+\.\d+")
DIGITS_THEN_THREE = re.compile(r"\d{1,3}(,\d{3})+")


@dataclass(frozen=True)
class Tier:
    name: str
    min_spend: int  # whole currency units over the last 12 months
    multiplier: Decimal


# Days a reward's coupon stays valid unless the programme says otherwise.
DEFAULT_VALIDITY_DAYS = 90


@dataclass(frozen=True)
class Reward:
    id: str
    cost: int
    benefit: str
    validity_days: int = DEFAULT_VALIDITY_DAYS  # its coupon expires this many days after it is issued
    min_order: int | None = None  # smallest order (whole currency units) the coupon applies to


def in_locale(text: str, locale: str | None) -> str:
    """'Gold|ذهبي' -> 'Gold' (English, no locale) or 'ذهبي' (Arabic); without '|' the same in both."""
    english, _, arabic = (part.strip() for part in text.partition("|"))
    return arabic if locale == "ar" and arabic else english


def parse_tiers(spec: str, *, locale: str | None = None) -> tuple[Tier, ...]:
    """'Bronze|برونزي:0:1,Silver:500:1.25' -> tiers sorted by threshold; the first must start at 0.

    Names are 'English|Arabic' (or one name for both); with `locale` each tier carries that language's name.
    """
    tiers = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        fields = [f.strip() for f in part.split(":")]
        if len(fields) != 3 or not fields[0]:
            raise ValueError(f"tier {part!r} must look like Name:min_spend:multiplier")
        try:
            tier = Tier(in_locale(fields[0], locale), int(fields[1]), Decimal(fields[2]))
        except (ValueError, InvalidOperation):
            raise ValueError(f"tier {part!r} needs a whole min_spend and a number multiplier") from None
        if tier.min_spend < 0 or not Decimal(0) <= tier.multiplier <= Decimal(100):
            raise ValueError(f"tier {part!r} is out of range")
        tiers.append(tier)
    tiers.sort(key=lambda tier: tier.min_spend)
    if not tiers or tiers[0].min_spend != 0:
        raise ValueError("the first tier must start at 0")
    if len({tier.min_spend for tier in tiers}) != len(tiers):
        raise ValueError("two tiers have the same min_spend")
    return tuple(tiers)


def parse_rewards(
    spec: str,
    *,
    locale: str | None = None,
    validity_days: int = DEFAULT_VALIDITY_DAYS,
    min_order: int | None = None,
) -> tuple[Reward, ...]:
    """'COFFEE:100:Free coffee|قهوة مجانية;5OFF:250:5.00 off' -> rewards in catalogue order.

    Benefits are 'English|Arabic' (or one text for both); with `locale` each reward carries that language's.
    Every reward gets the same coupon validity and minimum order (the file can set them per reward).
    """
    rewards = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        fields = [f.strip() for f in part.split(":", 2)]
        if len(fields) != 3 or not REWARD_ID.match(fields[0]) or not fields[2]:
            raise ValueError(f"reward {part!r} must look like ID:points:benefit")
        try:
            cost = int(fields[1])
        except ValueError:
            raise ValueError(f"reward {part!r} needs a whole number of points") from None
        texts = [in_locale(fields[2], language) for language in ("en", "ar")]
        if cost <= 0 or not all(texts) or max(map(len, texts)) > 64:
            raise ValueError(f"reward {part!r}: cost must be positive and the benefit at most 64 characters")
        rewards.append(Reward(fields[0], cost, in_locale(fields[2], locale), validity_days, min_order))
    if len({reward.id for reward in rewards}) != len(rewards):
        raise ValueError("two rewards have the same id")
    return tuple(rewards)


def find_reward(rewards: tuple[Reward, ...], reward_id: str) -> Reward | None:
    return next((reward for reward in rewards if reward.id == reward_id), None)


def tier_for(tiers: tuple[Tier, ...], spend_minor: int, exponent: int) -> Tier:
    units = Decimal(spend_minor) / (Decimal(10) ** exponent)
    return [tier for tier in tiers if units >= tier.min_spend][-1]


def next_tier(tiers: tuple[Tier, ...], current: Tier) -> Tier | None:
    later = [tier for tier in tiers if tier.min_spend > current.min_spend]
    return later[0] if later else None


def points_for(amount_minor: int, *, per_unit: Decimal, multiplier: Decimal, exponent: int) -> int:
    """Points for a purchase: amount in currency units x rate x tier multiplier, rounded down."""
    raw = Decimal(amount_minor) / (Decimal(10) ** exponent) * per_unit * multiplier
    return int(raw.to_integral_value(rounding=ROUND_DOWN))


def parse_amount(text: str, *, exponent: int, max_units: int) -> int:
    """'12.50' -> 1250 minor units; ValueError (with a reason key) for anything else."""
    # Digits of any of the three scripts; the Arabic decimal and thousands signs.
    cleaned = latin_digits(text).strip().replace("\u066b", ".").replace("\u066c", ",")
    if THOUSANDS.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")  # 1,234.50
    elif DIGITS_THEN_THREE.fullmatch(cleaned):
        raise ValueError("amount_format")  # 1,234: a thousands separator, or 1.234 (KWD)? Refuse to guess.
    cleaned = cleaned.replace(",", ".")  # 25,50
    if not re.fullmatch(r"\d{1,12}(\.\d+)?", cleaned):
        raise ValueError("amount_format")
    value = Decimal(cleaned)
    minor = value * (Decimal(10) ** exponent)
    if minor != minor.to_integral_value():
        raise ValueError("amount_precision")
    if value <= 0:
        raise ValueError("amount_zero")
    if value > max_units:
        raise ValueError("amount_too_large")
    return int(minor)


def progress_bar(fraction: float, width: int = 10) -> str:
    filled = max(0, min(width, int(fraction * width)))
    return "▰" * filled + "▱" * (width - filled)
