"""SPEC §5 formulas on worked examples."""

from decimal import Decimal

import pytest

from reports import nps_formulas as f


def test_two_promoters_three_passives_one_detractor_is_16_67_shown_as_17():
    value = f.nps(2, 1, 6)
    assert value.quantize(Decimal("0.01")) == Decimal("16.67")
    assert f.shown(value) == 17
    # From rounded percentages (33 % - 17 %) it would wrongly be 16.
    assert round(100 * 2 / 6) - round(100 * 1 / 6) == 16


def test_a_thousand_answers_with_250_promoters_and_75_detractors():
    assert f.nps(250, 75, 1000) == Decimal("17.5")
    assert f.margin_of_error(250, 75, 1000).quantize(Decimal("0.01")) == Decimal("3.36")


def test_the_margin_is_one_variance_of_the_difference_never_two_added():
    p, d, n = Decimal("0.25"), Decimal("0.075"), 1000
    added = Decimal("1.96") * 100 * ((p * (1 - p) + d * (1 - d)) / n).sqrt()
    # The shares move against each other (negative covariance): the true margin is wider.
    assert f.margin_of_error(250, 75, 1000) > added


def test_no_answers_gives_no_figures():
    assert f.nps(0, 0, 0) is None
    assert f.margin_of_error(0, 0, 0) is None
    assert f.adjusted_wald(0, 0, 0) is None
    assert f.shown(None) is None


@pytest.mark.parametrize(
    ("exact", "shown"),
    [("16.5", 17), ("-16.5", -17), ("0.5", 1), ("-0.5", -1), ("16.49", 16), ("-16.49", -16), ("12.5", 13)],
)
def test_ties_round_half_away_from_zero(exact, shown):
    assert f.shown(Decimal(exact)) == shown


def test_adjusted_wald_adds_three_answers_and_stays_within_plus_minus_100():
    low, high = f.adjusted_wald(250, 75, 1000)
    # n' = 1003, p' = 250.75 / 1003, d' = 75.75 / 1003
    centre = Decimal(100) * (Decimal("250.75") - Decimal("75.75")) / 1003
    assert low < centre < high
    assert (high - low) / 2 == pytest.approx(Decimal("3.36"), abs=Decimal("0.01"))
    low, high = f.adjusted_wald(1, 0, 1)
    assert (low, high) == (Decimal("-48.5"), Decimal("98.5"))
    low, high = f.adjusted_wald(0, 40, 40)
    assert low >= -100 and high < 0


def test_a_change_is_significant_only_beyond_the_combined_margin():
    small = f.change((250, 75, 1000), (260, 75, 1000))
    assert small.difference == Decimal(1) and not small.significant
    big = f.change((250, 75, 1000), (300, 75, 1000))
    assert big.difference == Decimal(5) and big.significant
    assert big.combined_margin == pytest.approx(
        (f.margin_of_error(250, 75, 1000) ** 2 + f.margin_of_error(300, 75, 1000) ** 2).sqrt()
    )
    assert f.change((0, 0, 0), (1, 0, 1)) == f.Change(None, None, False)
