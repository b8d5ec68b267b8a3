"""Tests of fmnist_helpers/experiments.py: one change per variant, the noise rule, time to target."""

import dataclasses
import math

import pandas as pd
import pytest

from fmnist_helpers import DEFAULT_RECIPE
from fmnist_helpers.experiments import (COMPARISONS, RECIPES, Comparison, changed_fields, compare,
                                        compare_all, format_difference, format_seconds,
                                        seconds_to_target)

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


def test_a_difference_beyond_twice_its_standard_error_counts():
    (row,) = compare(_table([0.90, 0.91, 0.92], [0.93, 0.94, 0.95]), SHORTER).to_dict("records")
    assert row["difference"] == pytest.approx(0.03)
    assert row["standard error"] == pytest.approx(math.sqrt(0.01**2 / 3 * 2))  # sd 0.01 on each side
    assert row["verdict"] == "higher" and row["seeds"] == 3
    assert row["change"] == "epochs: 5 -> 2"
    (row,) = compare(_table([0.93, 0.94, 0.95], [0.90, 0.91, 0.92]), SHORTER).to_dict("records")
    assert row["verdict"] == "lower"


def test_a_difference_within_twice_its_standard_error_is_noise():
    # difference 0.01, standard error 0.00816: 0.01 < 2 x 0.00816
    (row,) = compare(_table([0.90, 0.91, 0.92], [0.91, 0.92, 0.93]), SHORTER).to_dict("records")
    assert row["verdict"] == "within noise"
    (row,) = compare(_table([0.9, 0.9, 0.9], [0.9, 0.9, 0.9]), SHORTER).to_dict("records")
    assert row["verdict"] == "within noise" and row["standard error"] == 0


def test_too_few_seeds_are_refused_with_the_command_that_adds_them():
    with pytest.raises(ValueError, match=r"comparison 'epochs' needs at least 2 seeds of 'shorter' with a "
                                         r"'validation accuracy', found 1; run the sweep for it: "
                                         r"python -m fmnist_helpers.sweep --runs 'shorter'"):
        compare(_table([0.9, 0.91, 0.92], [0.9]), SHORTER)


def test_compare_all_indexes_every_variant():
    table = _table([0.90, 0.91, 0.92], [0.93, 0.94, 0.95])
    assert compare_all(table, [SHORTER]).index.tolist() == ["shorter"]


def test_seconds_to_target_is_the_share_of_the_run_up_to_the_first_epoch_that_reached_it():
    assert seconds_to_target({"val_accuracy": [0.80, 0.92, 0.91, 0.95]}, 100.0) == 50.0
    assert math.isnan(seconds_to_target({"val_accuracy": [0.80, 0.91]}, 100.0))
    assert seconds_to_target({"val_accuracy": [0.5, 0.6]}, 10.0, target=0.6) == 10.0


@pytest.mark.parametrize(("difference", "error", "text"), [
    (0.0461, 0.0021, "+4.6 ± 0.4 points"),
    (-0.0012, 0.0030, "-0.1 ± 0.6 points"),
    (0.0004, 0.0001, "+0.04 ± 0.02 points"),
    (0.0004, 0.0002, "+0.040 ± 0.040 points"),
    (0.0, 0.0, "+0.0 ± 0.0 points"),
    (0.0046, 0.00226, "+0.46 ± 0.45 points"),
], ids=["large", "negative", "small margin", "equal to the margin", "no spread", "close to the margin"])  # fmt: skip
def test_format_difference_rounds_to_what_the_noise_allows(difference, error, text):
    assert format_difference({"difference": difference, "standard error": error}) == text


def test_format_difference_in_seconds():
    assert format_difference({"difference": -12.34, "standard error": 1.2}, scale=1, unit=" s") == "-12.3 ± 2.4 s"


def test_format_seconds_keeps_two_significant_digits():
    assert [format_seconds(value) for value in (105.2, 52.49, 1.26, 1234.0)] == ["110", "52", "1.3", "1200"]
    assert format_seconds(math.nan) == "-"
