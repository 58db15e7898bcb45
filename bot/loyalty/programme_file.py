"""The loyalty programme file (LOYALTY_PROGRAMME_FILE, e.g. data/programme.yaml): tiers and rewards with
their texts in English and Arabic, validated by pydantic when the settings load.

A mistake stops the start with one line naming the file, the line and the field
("programme.yaml, line 9, tiers[1].multiplier: Input should be less than or equal to 100"): the YAML is
composed into nodes first, which keep their line, and each pydantic error is traced back to the node
at its location. Without a file the settings' LOYALTY_TIERS and LOYALTY_REWARDS describe the programme.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bot.loyalty.programme import LoyaltyProgramme
from bot.loyalty.rules import DEFAULT_VALIDITY_DAYS, REWARD_ID, Reward, Tier

Location = tuple[str | int, ...]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Benefit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class Strict(BaseModel):
    # A misspelt key ("mutliplier") is an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierName(Strict):
    en: Name
    ar: Name


class BenefitText(Strict):
    en: Benefit
    ar: Benefit


class TierEntry(Strict):
    name: TierName
    min_spend: int = Field(ge=0, strict=True)  # whole currency units spent in the last 12 months
    multiplier: Decimal = Field(ge=0, le=100, allow_inf_nan=False)


ValidityDays = Annotated[int, Field(ge=1, le=3650, strict=True)]


class RewardEntry(Strict):
    id: str = Field(pattern=REWARD_ID.pattern)
    cost: int = Field(gt=0, strict=True)
    benefit: BenefitText
    validity_days: ValidityDays | None = None  # the document's validity_days without one
    min_order: int | None = Field(default=None, gt=0, strict=True)  # whole currency units


class ProgrammeDocument(Strict):
    tiers: list[TierEntry] = Field(min_length=1)
    rewards: list[RewardEntry] = []
    validity_days: ValidityDays = DEFAULT_VALIDITY_DAYS  # days a coupon stays valid after it is issued


class ProgrammeFileError(ValueError):
    """The file cannot be read or is invalid; the message names the file, line and field."""


def _marks(node: yaml.Node, at: Location, line: int, found: dict[Location, int]) -> None:
    """Line (1-based) of each field in the document, by its location as pydantic reports it: where its key
    is written (a list item: where it starts)."""
    found[at] = line
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _marks(value, (*at, str(key.value)), key.start_mark.line + 1, found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _marks(item, (*at, index), item.start_mark.line + 1, found)


def _field(at: Location) -> str:
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the document"


def _refuse(path: Path, lines: dict[Location, int], at: Location, message: str) -> ProgrammeFileError:
    known = at
    while known not in lines and known:  # a missing field: the line of the entry that lacks it
        known = known[:-1]
    return ProgrammeFileError(f"{path}, line {lines.get(known, 1)}, {_field(at)}: {message}")


def _document(path: Path) -> tuple[Any, dict[Location, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProgrammeFileError(f"cannot read {path}: {error}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ProgrammeFileError(f"{path}{line}: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise ProgrammeFileError(f"{path}: {error}") from None
    finally:
        loader.dispose()
    lines: dict[Location, int] = {}
    if node is not None:
        _marks(node, (), node.start_mark.line + 1, lines)
    return data, lines


def _cross_checks(document: ProgrammeDocument) -> tuple[Location, str] | None:
    """What one entry alone cannot show: the lowest tier, and ids or thresholds used twice."""
    if min(tier.min_spend for tier in document.tiers) != 0:
        lowest = min(range(len(document.tiers)), key=lambda index: document.tiers[index].min_spend)
        return ("tiers", lowest, "min_spend"), "the lowest tier must start at 0"
    seen: set[object] = set()
    for index, tier in enumerate(document.tiers):
        if tier.min_spend in seen:
            return ("tiers", index, "min_spend"), "another tier has the same min_spend"
        seen.add(tier.min_spend)
    seen = set()
    for index, reward in enumerate(document.rewards):
        if reward.id in seen:
            return ("rewards", index, "id"), "another reward has the same id"
        seen.add(reward.id)
    return None


def read_programme_file(path: Path) -> LoyaltyProgramme:
    """Parse and validate the file; raises ProgrammeFileError naming the file, line and field."""
    data, lines = _document(path)
    try:
        document = ProgrammeDocument.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise _refuse(path, lines, tuple(first["loc"]), first["msg"].removeprefix("Value error, ")) from None
    problem = _cross_checks(document)
    if problem is not None:
        raise _refuse(path, lines, *problem)
    tiers = sorted(document.tiers, key=lambda tier: tier.min_spend)

    def rewards(locale: str) -> tuple[Reward, ...]:
        return tuple(
            Reward(
                reward.id,
                reward.cost,
                getattr(reward.benefit, locale),
                reward.validity_days or document.validity_days,
                reward.min_order,
            )
            for reward in document.rewards
        )

    return LoyaltyProgramme(
        tiers_en=tuple(Tier(tier.name.en, tier.min_spend, tier.multiplier) for tier in tiers),
        tiers_ar=tuple(Tier(tier.name.ar, tier.min_spend, tier.multiplier) for tier in tiers),
        rewards_en=rewards("en"),
        rewards_ar=rewards("ar"),
        validity_days=document.validity_days,
    )


# Programmes read at settings validation, by path: handlers and orders never read the file again. A
# settings copy naming another file (tests do that) reads that one once, the first time it is asked.
_LOADED: dict[Path, LoyaltyProgramme] = {}


def load_programme_file(path: Path) -> LoyaltyProgramme:
    """Read the file now (at start) and keep its programme for `programme_of_file`."""
    programme = read_programme_file(path)
    _LOADED[path] = programme
    return programme


def programme_of_file(path: Path) -> LoyaltyProgramme:
    programme = _LOADED.get(path)
    return programme if programme is not None else load_programme_file(path)
