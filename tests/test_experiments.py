"""Tests of fmnist_helpers/experiments.py: one change per variant, the noise rule, time to target."""

import dataclasses
import math

import pandas as pd
import pytest

from fmnist_helpers import DEFAULT_RECIPE
from fmnist_helpers.experiments import (COMPARISONS, RECIPES, Comparison, changed_fields, compare,
                                        compare_all, format_difference, holm,
                                        paired_differences, paired_interval)

RECIPES_FOR_TESTS = {
    "base": DEFAULT_RECIPE,
    "shorter": dataclasses.replace(DEFAULT_RECIPE, epochs=2),
    "shorter and slower": dataclasses.replace(DEFAULT_RECIPE, epochs=2, learning_rate=1e-3),
    "same": dataclasses.replace(DEFAULT_RECIPE, seed=7),
}


def test_every_book_comparison_changes_one_field_per_variant():
    for comparison in COMPARISONS:
        for variant in comparison.variants:
            assert len(changed_fields(RECIPES[comparison.base], RECIPES[variant])) == 1, variant


def test_a_variant_that_changes_two_fields_is_refused():
    with pytest.raises(ValueError, match=r"comparison 'bad': 'shorter and slower' changes 2 fields of 'base' "
                                         r"\(learning_rate, epochs\); a variant must change exactly one"):
        Comparison("bad", "base", ("shorter and slower",), recipes=RECIPES_FOR_TESTS)


def test_a_variant_that_changes_nothing_but_the_seed_is_refused():
    with pytest.raises(ValueError, match=r"'same' changes 0 fields of 'base' \(none\)"):
        Comparison("bad", "base", ("same",), recipes=RECIPES_FOR_TESTS)


def test_unknown_names_and_empty_comparisons_are_refused():
    with pytest.raises(ValueError, match=r"comparison 'bad' names an unknown recipe 'nope'; expected one of base"):
        Comparison("bad", "base", ("nope",), recipes=RECIPES_FOR_TESTS)
    with pytest.raises(ValueError, match=r"comparison 'bad' has no variants"):
        Comparison("bad", "base", (), recipes=RECIPES_FOR_TESTS)


def _table(base, variant):
    return pd.DataFrame({"run": ["base"] * len(base) + ["shorter"] * len(variant),
                         "seed": [*range(len(base)), *range(len(variant))],
                         "validation accuracy": [*base, *variant]})


SHORTER = Comparison("epochs", "base", ("shorter",), recipes=RECIPES_FOR_TESTS)


def test_pairing_by_seed_finds_a_steady_difference_that_the_spread_between_seeds_hides():
    # Each seed of the variant is 0.01 above the same seed of the base; the seeds themselves
    # spread by 0.01, so unpaired means (0.91 against 0.92) could not tell them apart.
    (row,) = compare(_table([0.90, 0.91, 0.92], [0.91, 0.92, 0.93]), SHORTER).to_dict("records")
    assert row["difference"] == pytest.approx(0.01) and row["margin"] == pytest.approx(0.0)
    assert row["verdict"] == "higher" and row["seeds"] == 3
    assert row["change"] == "epochs: 5 -> 2"
    (row,) = compare(_table([0.93, 0.94, 0.95], [0.90, 0.91, 0.92]), SHORTER).to_dict("records")
    assert row["verdict"] == "lower" and row["high"] == pytest.approx(-0.03)


def test_an_interval_that_contains_zero_is_undecided():
    # differences 0.01, -0.01, 0.02: mean 0.00667, sd 0.01528, t(2) = 4.303
    (row,) = compare(_table([0.90, 0.92, 0.91], [0.91, 0.91, 0.93]), SHORTER).to_dict("records")
    assert row["difference"] == pytest.approx(0.02 / 3)
    assert row["margin"] == pytest.approx(4.302653 * 0.0152753 / math.sqrt(3), rel=1e-4)
    assert row["low"] < 0 < row["high"] and row["verdict"] == "undecided"
    assert row["p value"] == pytest.approx(0.5286, abs=1e-3)  # the paired t test's, two-sided


def test_paired_differences_use_only_the_seeds_both_recipes_ran():
    table = _table([0.90, 0.91, 0.92], [0.95, 0.93])
    assert paired_differences(table, "base", "shorter").round(4).to_dict() == {0: 0.05, 1: 0.02}
    (row,) = compare(table, SHORTER).to_dict("records")
    assert row["seeds"] == 2 and row["base mean"] == pytest.approx(0.905)


def test_paired_interval_uses_students_t():
    mean, margin = paired_interval([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and margin == pytest.approx(4.302653 * 0.1 / math.sqrt(3))
    _, margin_5 = paired_interval([0.1, 0.2, 0.3, 0.2, 0.2])  # 5 seeds: t(4) = 2.776
    assert margin_5 == pytest.approx(2.776445 * 0.0707107 / math.sqrt(5), rel=1e-5)
    with pytest.raises(ValueError, match=r"a t interval needs at least 2 paired differences, got 1"):
        paired_interval([0.1])
    with pytest.raises(ValueError, match=r"confidence must be between 0 and 1, got 95"):
        paired_interval([0.1, 0.2], confidence=95)


def test_holm_multiplies_the_kth_smallest_p_value_by_the_comparisons_left():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # capped at 1, and never below an earlier one
    assert holm([]) == []


def test_too_few_seeds_are_refused_with_the_command_that_adds_them():
    with pytest.raises(ValueError, match=r"comparison 'epochs' needs at least 2 seeds that both 'base' and "
                                         r"'shorter' ran, with a 'validation accuracy'; found 1; run the "
                                         r"sweep for them: python -m fmnist_helpers.sweep --runs 'base' 'shorter'"):
        compare(_table([0.9, 0.91, 0.92], [0.9]), SHORTER)


def test_compare_all_indexes_every_variant_and_adjusts_for_their_number():
    table = pd.DataFrame({"run": ["base"] * 3 + ["shorter"] * 3 + ["other"] * 3, "seed": [0, 1, 2] * 3,
                          "validation accuracy": [0.90, 0.92, 0.91, 0.91, 0.91, 0.93, 0.92, 0.94, 0.93]})
    other = Comparison("other", "base", ("other",),
                       recipes={**RECIPES_FOR_TESTS, "other": RECIPES_FOR_TESTS["shorter"]})
    both = compare_all(table, [SHORTER, other])
    assert both.index.tolist() == ["shorter", "other"]
    assert both["Holm p value"].tolist() == pytest.approx(holm(both["p value"].tolist()))
    assert both.loc["other", "verdict"] == "higher"
    assert both["holds after Holm"].tolist() == [p < 0.05 for p in both["Holm p value"]]


@pytest.mark.parametrize(("difference", "margin", "text"), [
    (0.0461, 0.0042, "+4.6 ± 0.4 points"),
    (-0.0012, 0.0060, "-0.1 ± 0.6 points"),
    (0.0004, 0.0002, "+0.04 ± 0.02 points"),
    (0.0004, 0.0004, "+0.040 ± 0.040 points"),
    (0.0, 0.0, "+0.0 ± 0.0 points"),
    (0.0046, 0.00452, "+0.46 ± 0.45 points"),
], ids=["large", "negative", "small margin", "equal to the margin", "no spread", "close to the margin"])  # fmt: skip
def test_format_difference_rounds_to_what_the_noise_allows(difference, margin, text):
    assert format_difference({"difference": difference, "margin": margin}) == text


def test_format_difference_in_seconds():
    assert format_difference({"difference": -12.34, "margin": 2.4}, scale=1, unit=" s") == "-12.3 ± 2.4 s"
