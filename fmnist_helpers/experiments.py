"""Controlled experiments: a base recipe, variants that change one thing, several seeds each."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .recipes import DEFAULT_RECIPE, HEADLINE_RECIPE, ORIGINAL_RECIPE, WIDE_FLIPS_RECIPE, Recipe

__all__ = [
    "COMPARISONS",
    "METHODS",
    "RECIPES",
    "SEEDS",
    "SINGLE_RUNS",
    "TARGET_ACCURACY",
    "Comparison",
    "changed_fields",
    "compare",
    "compare_all",
    "format_difference",
    "holm",
    "paired_differences",
    "paired_interval",
]

#: Seeds every recipe of a comparison runs with: each seed draws other initial weights,
#: another shuffling and dropout, and another 6,000 validation images.
SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)

#: The accuracy the benchmark's mean-over-seeds rule asks the default recipe to reach.
TARGET_ACCURACY = 0.92

#: The original post's recipe for one epoch: its schedule does not depend on the run's length,
#: so this is exactly the first epoch of its 20, at a twentieth of the cost.
_ORIGINAL_EPOCH = dataclasses.replace(ORIGINAL_RECIPE, epochs=1)

#: Every recipe the comparisons train, by name; each runs once per seed of :data:`SEEDS`.
RECIPES: dict[str, Recipe] = {
    "default recipe": DEFAULT_RECIPE,
    "MLP": dataclasses.replace(DEFAULT_RECIPE, model_name="mlp"),
    "no batch norm": dataclasses.replace(DEFAULT_RECIPE, model_name="fast_cnn_plain"),
    "wide CNN": dataclasses.replace(DEFAULT_RECIPE, model_name="wide_cnn"),
    "wide CNN, flips": WIDE_FLIPS_RECIPE,
    "dropout 0.3": dataclasses.replace(DEFAULT_RECIPE, model_name="fast_cnn_dropout_0.3"),
    "batch 512": dataclasses.replace(DEFAULT_RECIPE, batch_size=512),
    "10 epochs": dataclasses.replace(DEFAULT_RECIPE, epochs=10),
    "original recipe, 1 epoch": _ORIGINAL_EPOCH,
    "original, rate 0.01": dataclasses.replace(_ORIGINAL_EPOCH, learning_rate=1e-2),
    "original, momentum": dataclasses.replace(_ORIGINAL_EPOCH, optimizer_name="original_momentum"),
    "original, Adam": dataclasses.replace(_ORIGINAL_EPOCH, optimizer_name="original_adam"),
    # Not compared: the headline model, the book's most accurate (`make headline`).
    "best model": HEADLINE_RECIPE,
}

#: The speed appendix's methods: each changes one thing of the default recipe and is measured
#: against it, paired by seed, for accuracy and time (``benchmarks/methods.py``).
METHODS: dict[str, Recipe] = {
    "default recipe": DEFAULT_RECIPE,
    "Keras BatchNormalization": dataclasses.replace(DEFAULT_RECIPE, model_name="fast_cnn_keras_bn"),
    "batch norm without scale": dataclasses.replace(DEFAULT_RECIPE, model_name="fast_cnn_no_bn_scale"),
    "label smoothing 0.1": dataclasses.replace(DEFAULT_RECIPE, label_smoothing=0.1),
    "weight EMA 0.99": dataclasses.replace(DEFAULT_RECIPE, weight_ema=0.99),
    "shift ±2 px": dataclasses.replace(DEFAULT_RECIPE, model_name="fast_cnn_shift"),
    "4 epochs": dataclasses.replace(DEFAULT_RECIPE, epochs=4),
}

#: Runs outside the comparisons, by name: the original post's whole recipe, once, with seed 0.
SINGLE_RUNS: dict[str, Recipe] = {"original recipe, 20 epochs": ORIGINAL_RECIPE}


def changed_fields(base: Recipe, variant: Recipe) -> list[str]:
    """The recipe fields, other than ``seed``, in which ``variant`` differs from ``base``.

    Parameters
    ----------
    base, variant
        Two recipes.

    Returns
    -------
    list of str
        Field names, in the order :class:`~fmnist_helpers.Recipe` declares them.

    Examples
    --------
    >>> changed_fields(DEFAULT_RECIPE, dataclasses.replace(DEFAULT_RECIPE, epochs=10))
    ['epochs']
    """
    return [field.name for field in dataclasses.fields(Recipe)
            if field.name != "seed" and getattr(base, field.name) != getattr(variant, field.name)]


@dataclass(frozen=True)
class Comparison:
    """A controlled experiment: a base recipe and variants that each change one field of it.

    Parameters
    ----------
    name
        Short, for tables: ``"convolutions"``.
    base
        The name of the base recipe in ``recipes``.
    variants
        Names of recipes in ``recipes``, each differing from the base in exactly one field
        (a model name stands for one option of the model: see :data:`fmnist_helpers.MODELS`).
    recipes
        Where the names are looked up; by default :data:`RECIPES`.

    Raises
    ------
    ValueError
        If a name is unknown, there is no variant, or a variant changes no field or more than one.
    """

    name: str
    base: str
    variants: tuple[str, ...]
    recipes: Mapping[str, Recipe] = dataclasses.field(default_factory=lambda: RECIPES, repr=False)

    def __post_init__(self) -> None:
        if not self.variants:
            raise ValueError(f"comparison {self.name!r} has no variants; name at least one recipe")
        for run in (self.base, *self.variants):
            if run not in self.recipes:
                raise ValueError(f"comparison {self.name!r} names an unknown recipe {run!r}; "
                                 f"expected one of {', '.join(self.recipes)}")
        for variant in self.variants:
            fields = self.change(variant)
            if len(fields) != 1:
                raise ValueError(
                    f"comparison {self.name!r}: {variant!r} changes {len(fields)} fields of "
                    f"{self.base!r} ({', '.join(fields) or 'none'}); a variant must change exactly one, "
                    f"as dataclasses.replace(base, field=value) does"
                )

    def change(self, variant: str) -> list[str]:
        """The fields ``variant`` changes from the base (see :func:`changed_fields`)."""
        return changed_fields(self.recipes[self.base], self.recipes[variant])

    def describe(self, variant: str) -> str:
        """The change as ``"field: base value -> variant value"``."""
        (field,) = self.change(variant)
        return (f"{field}: {getattr(self.recipes[self.base], field)} -> "
                f"{getattr(self.recipes[variant], field)}")


#: The book's comparisons, each a base and variants one change away from it.
COMPARISONS: tuple[Comparison, ...] = (
    Comparison("convolutions", "default recipe", ("MLP",)),
    Comparison("batch norm", "default recipe", ("no batch norm",)),
    Comparison("width", "default recipe", ("wide CNN",)),
    Comparison("flips", "wide CNN", ("wide CNN, flips",)),
    Comparison("dropout", "default recipe", ("dropout 0.3",)),
    Comparison("batch size", "default recipe", ("batch 512",)),
    Comparison("epochs", "default recipe", ("10 epochs",)),
    Comparison("original optimizer", "original recipe, 1 epoch",
               ("original, rate 0.01", "original, momentum", "original, Adam")),
)


def paired_differences(table: pd.DataFrame, base: str, variant: str,
                       metric: str = "validation accuracy") -> pd.Series:
    """A variant's ``metric`` minus its base's, seed by seed, on the seeds both ran.

    The seed fixes the validation images and the initial weights, so the two runs of one
    seed differ only in the variant's change (and in the noise that change lets through):
    comparing them seed by seed removes the spread that comes from the seed itself.

    Parameters
    ----------
    table
        One row per run and seed, with columns ``run``, ``seed`` and ``metric``.
    base, variant
        Two values of the ``run`` column.
    metric
        The column to compare.

    Returns
    -------
    pandas.Series
        Indexed by seed, in increasing order.

    Examples
    --------
    >>> table = pd.DataFrame({"run": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
    ...                       "validation accuracy": [0.90, 0.92, 0.91, 0.94]})
    >>> paired_differences(table, "a", "b").round(2).tolist()
    [0.01, 0.02]
    """
    def by_seed(run: str) -> pd.Series:
        rows = table.loc[table["run"] == run, ["seed", metric]].dropna()
        return rows.set_index("seed")[metric]

    differences = (by_seed(variant) - by_seed(base)).dropna().sort_index()
    differences.name = f"{variant} - {base}"
    return differences


def paired_interval(differences: Sequence[float] | pd.Series,
                    confidence: float = 0.95) -> tuple[float, float]:
    """The mean of paired differences and the half-width of its Student's t interval.

    The interval is ``mean ± t * sd / sqrt(n)``, where ``t`` is the ``(1 + confidence) / 2``
    quantile of Student's t with ``n - 1`` degrees of freedom: 2.78 for 5 seeds, 4.30 for 3.

    Parameters
    ----------
    differences
        One difference per seed (see :func:`paired_differences`), at least 2.
    confidence
        The interval's coverage.

    Returns
    -------
    tuple of float
        ``(mean, margin)``: the interval is ``mean - margin`` to ``mean + margin``.

    Raises
    ------
    ValueError
        If there are fewer than 2 differences, or ``confidence`` is not between 0 and 1.

    Examples
    --------
    >>> mean, margin = paired_interval([0.1, 0.2, 0.3])
    >>> round(mean, 3), round(margin, 3)
    (0.2, 0.248)
    """
    from scipy import stats

    values = pd.Series(differences, dtype=float).dropna()
    if len(values) < 2:
        raise ValueError(f"a t interval needs at least 2 paired differences, got {len(values)}; "
                         f"run both recipes with more seeds")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    critical = stats.t.ppf((1 + confidence) / 2, df=len(values) - 1)
    return float(values.mean()), float(critical * values.std() / math.sqrt(len(values)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of p-values for a family of comparisons.

    Sort the ``m`` p-values, multiply the ``k``-th smallest by ``m - k + 1``, keep each at
    least as large as the one before, and cap at 1. A comparison whose adjusted p-value is
    below 0.05 holds with a family-wise error rate of 5%: the chance that any of the
    family's findings is noise stays below 5%, however many comparisons there are.

    Parameters
    ----------
    p_values
        One per comparison, in any order.

    Returns
    -------
    list of float
        The adjusted p-values, in the order given.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(p_values)), key=lambda index: p_values[index])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = round(running, 12)
    return adjusted


def compare(table: pd.DataFrame, comparison: Comparison, metric: str = "validation accuracy",
            confidence: float = 0.95) -> pd.DataFrame:
    """Each variant's paired difference to the base: its mean, t interval, p-value and verdict.

    For every seed both recipes ran, take the variant's ``metric`` minus the base's
    (:func:`paired_differences`); give their mean and Student's t interval
    (:func:`paired_interval`). A difference counts only when its interval excludes 0:
    the verdict is ``"higher"`` or ``"lower"``, and otherwise ``"undecided"``.

    Parameters
    ----------
    table
        One row per run and seed, with columns ``run``, ``seed`` and ``metric``.
    comparison
        What to compare.
    metric
        A column of ``table``: ``"validation accuracy"``, say.
    confidence
        The intervals' coverage.

    Returns
    -------
    pandas.DataFrame
        One row per variant: ``comparison``, ``base``, ``variant``, ``change``, ``seeds``,
        ``base mean``, ``variant mean``, ``difference`` (the mean paired difference),
        ``margin`` (the interval's half-width), ``low``, ``high``, ``p value`` (the paired
        t test's, two-sided) and ``verdict``.

    Raises
    ------
    ValueError
        If a variant shares fewer than 2 seeds with its base in ``table``.
    """
    from scipy import stats

    rows = []
    for variant in comparison.variants:
        differences = paired_differences(table, comparison.base, variant, metric)
        if len(differences) < 2:
            raise ValueError(
                f"comparison {comparison.name!r} needs at least 2 seeds that both {comparison.base!r} "
                f"and {variant!r} ran, with a {metric!r}; found {len(differences)}; run the sweep "
                f"for them: python -m fmnist_helpers.sweep --runs {comparison.base!r} {variant!r}")
        mean, margin = paired_interval(differences, confidence)
        seeds = differences.index
        base = table[(table["run"] == comparison.base) & table["seed"].isin(seeds)][metric]
        other = table[(table["run"] == variant) & table["seed"].isin(seeds)][metric]
        p_value = float(stats.ttest_1samp(differences, 0.0).pvalue) if margin > 0 else 0.0
        verdict = ("undecided" if mean - margin <= 0 <= mean + margin
                   else "higher" if mean > 0 else "lower")
        rows.append({
            "comparison": comparison.name, "base": comparison.base, "variant": variant,
            "change": comparison.describe(variant), "seeds": len(differences),
            "base mean": base.mean(), "variant mean": other.mean(), "difference": mean,
            "margin": margin, "low": mean - margin, "high": mean + margin, "p value": p_value,
            "verdict": verdict,
        })
    return pd.DataFrame(rows)


def compare_all(table: pd.DataFrame, comparisons: Sequence[Comparison] = COMPARISONS,
                metric: str = "validation accuracy") -> pd.DataFrame:
    """:func:`compare` for every comparison, one table indexed by variant, with Holm's p-values.

    The column ``Holm p value`` adjusts each p-value for the number of comparisons in the
    table (:func:`holm`); ``holds after Holm`` says whether it stays below 0.05.
    """
    table = pd.concat([compare(table, comparison, metric) for comparison in comparisons])
    table["Holm p value"] = holm(table["p value"].tolist())
    table["holds after Holm"] = table["Holm p value"] < 0.05
    return table.set_index("variant")


def format_difference(row: Mapping[str, Any], scale: float = 100, unit: str = " points") -> str:
    """A paired difference and its interval's half-width, rounded to what the noise allows.

    Parameters
    ----------
    row
        A row of :func:`compare`, with ``difference`` and ``margin``.
    scale
        Multiplies both numbers: 100 turns accuracies into percentage points.
    unit
        Appended to the result.

    Returns
    -------
    str
        Such as ``"+4.6 ± 0.4 points"``: one decimal, or more while the margin rounds to
        zero or to the same figure as the difference (``"+0.46 ± 0.45"``, so that a reader
        sees which side of zero the interval ends).

    Examples
    --------
    >>> format_difference({"difference": 0.0461, "margin": 0.0042})
    '+4.6 ± 0.4 points'
    """
    difference, margin = scale * row["difference"], scale * row["margin"]
    decimals = 1
    while decimals < 4 and margin > 0 and f"{margin:.{decimals}f}" == f"{0:.{decimals}f}":
        decimals += 1
    if margin > 0 and f"{abs(difference):.{decimals}f}" == f"{margin:.{decimals}f}":
        decimals += 1  # one more, to show which side of zero the interval ends
    return f"{difference:+.{decimals}f} ± {margin:.{decimals}f}{unit}"
