"""The survey formulas on small sets of scores computed by hand."""

from __future__ import annotations

import pytest

from bot.surveys.scores import ces, csat, nps


def test_nps_is_percent_promoters_minus_percent_detractors():
    # promoters 10, 10, 9 (3 of 6 = 50 %); passives 8, 7; detractor 2 (1 of 6 = 16.67 %): 50 - 16.67 = 33.33
    assert nps([10, 10, 9, 8, 7, 2]) == pytest.approx(33.333, abs=0.001)
    # 4 promoters (10, 9, 10, 9) and 4 detractors (6, 0, 3, 5) of 10 cancel out
    assert nps([10, 9, 8, 7, 6, 0, 10, 3, 9, 5]) == 0
    assert nps([9, 10]) == 100
    assert nps([0, 6, 6]) == -100
    assert nps([7, 8]) == 0


def test_csat_is_share_of_four_and_five():
    assert csat([5, 4, 3, 2, 1]) == 40
    assert csat([5, 5, 4, 1]) == 75
    assert csat([3, 3]) == 0


def test_ces_is_mean_over_options():
    # (7 + 6 + 5 + 4) / 4 = 5.5; 5.5 / 7 x 100 = 78.571
    assert ces([7, 6, 5, 4]) == pytest.approx(78.571, abs=0.001)
    assert ces([7, 7]) == 100
    assert ces([5, 5], options=5) == 100
    assert ces([1]) == pytest.approx(14.286, abs=0.001)


@pytest.mark.parametrize("formula", [nps, csat, ces])
def test_no_responses_gives_no_score(formula):
    assert formula([]) is None


def test_formulas_accept_any_iterable():
    assert csat(score for score in (4, 2)) == 50
