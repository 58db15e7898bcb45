"""The survey score formulas, exactly as the README defines them. Pure functions: analytics imports them.

Each takes the raw scores of the respondents and returns the exact figure (callers round for display), or
None when there are no responses (a score of 0 would be a lie).
"""

from __future__ import annotations

from collections.abc import Iterable

NPS_PROMOTER_MIN = 9  # 9-10 promote
NPS_DETRACTOR_MAX = 6  # 0-6 detract; 7-8 are passives, counted only in the denominator
CSAT_POSITIVE_MIN = 4  # 4-5 of 5 are satisfied
CES_OPTIONS = 7


def nps(scores: Iterable[int]) -> float | None:
    """NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100."""
    values = list(scores)
    if not values:
        return None
    promoters = sum(1 for score in values if score >= NPS_PROMOTER_MIN)
    detractors = sum(1 for score in values if score <= NPS_DETRACTOR_MAX)
    return (promoters - detractors) / len(values) * 100


def csat(scores: Iterable[int]) -> float | None:
    """CSAT = positive responses (4-5) / respondents x 100, from 0 to 100."""
    values = list(scores)
    if not values:
        return None
    positive = sum(1 for score in values if score >= CSAT_POSITIVE_MIN)
    return positive / len(values) * 100


def ces(scores: Iterable[int], options: int = CES_OPTIONS) -> float | None:
    """CES = (sum of scores / respondents) / number of options x 100; higher means easier."""
    values = list(scores)
    if not values:
        return None
    return sum(values) / len(values) / options * 100
