"""The loyalty programme as typed values: the tiers of LOYALTY_TIERS and the rewards of LOYALTY_REWARDS,
parsed (and validated) once, in both languages, instead of on every /balance or order.

Settings keep the raw text (`Settings.loyalty_tiers`, `Settings.loyalty_rewards`), or the path of a YAML
programme file (`Settings.loyalty_programme_file`, read by `programme_file.py`, which builds the same
object); `Settings.loyalty_programme` gives this object. It is built when the settings are validated at
start and cached on the text, so a settings copy with other rules (tests do that) gets its own programme,
never a stale one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from bot.loyalty.rules import (
    DEFAULT_VALIDITY_DAYS,
    Reward,
    Tier,
    find_reward,
    next_tier,
    parse_rewards,
    parse_tiers,
    tier_for,
)


@dataclass(frozen=True)
class LoyaltyProgramme:
    """Tiers (lowest first) and rewards (catalogue order), with names and benefits in English and Arabic.

    The tiers of both languages are the same tiers in the same order; only their names differ.
    """

    tiers_en: tuple[Tier, ...]
    tiers_ar: tuple[Tier, ...]
    rewards_en: tuple[Reward, ...]
    rewards_ar: tuple[Reward, ...]
    # Validity of coupons the programme gives outside its catalogue (referral rewards).
    validity_days: int = DEFAULT_VALIDITY_DAYS

    def tiers(self, locale: str | None = None) -> tuple[Tier, ...]:
        """Tiers named in `locale`; English without one (ledger notes and outcomes carry English names)."""
        return self.tiers_ar if locale == "ar" else self.tiers_en

    def rewards(self, locale: str | None = None) -> tuple[Reward, ...]:
        return self.rewards_ar if locale == "ar" else self.rewards_en

    def reward(self, reward_id: str, locale: str | None = None) -> Reward | None:
        return find_reward(self.rewards(locale), reward_id)

    def tier_for(self, spend_minor: int, exponent: int, locale: str | None = None) -> Tier:
        return tier_for(self.tiers(locale), spend_minor, exponent)

    def next_tier(self, current: Tier, locale: str | None = None) -> Tier | None:
        return next_tier(self.tiers(locale), current)

    def tier_name(self, english_name: str | None, locale: str | None) -> str | None:
        """A tier's name in `locale`, from its English name (what an OrderOutcome carries)."""
        for english, localized in zip(self.tiers_en, self.tiers(locale), strict=True):
            if english.name == english_name:
                return localized.name
        return english_name

    @property
    def highest_multiplier(self) -> Decimal:
        return max(tier.multiplier for tier in self.tiers_en)


@lru_cache(maxsize=16)
def parse_loyalty_programme(
    tiers_spec: str,
    rewards_spec: str,
    validity_days: int = DEFAULT_VALIDITY_DAYS,
    min_order: int | None = None,
) -> LoyaltyProgramme:
    """Parse both specs; raises ValueError with a readable message (what Settings reports at start).
    `validity_days` and `min_order` (LOYALTY_COUPON_VALIDITY_DAYS, LOYALTY_COUPON_MIN_ORDER) apply to every
    reward."""
    return LoyaltyProgramme(
        tiers_en=parse_tiers(tiers_spec, locale="en"),
        tiers_ar=parse_tiers(tiers_spec, locale="ar"),
        rewards_en=parse_rewards(rewards_spec, locale="en", validity_days=validity_days, min_order=min_order),
        rewards_ar=parse_rewards(rewards_spec, locale="ar", validity_days=validity_days, min_order=min_order),
        validity_days=validity_days,
    )
