"""Controlled experiments: a base recipe, variants that change one thing, several seeds each."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .recipes import DEFAULT_RECIPE, HEADLINE_RECIPE, SEED_RECIPE, Recipe

__all__ = [
    "COMPARISONS",
    "RECIPES",
    "SEEDS",
    "SINGLE_RUNS",
    "TARGET_ACCURACY",
    "Comparison",
    "changed_fields",
    "compare",
    "compare_all",
    "format_difference",
    "format_seconds",
    "seconds_to_target",
]

#: Seeds every recipe of a comparison runs with: each seed draws other initial weights,
#: another shuffling and dropout, and another 6,000 validation images.
SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)

#: The validation accuracy whose time-to-reach the speed comparisons measure.
TARGET_ACCURACY = 0.92

#: The seed post's recipe for one epoch: its schedule does not depend on the run's length,
#: so this is exactly the first epoch of its 20, at a twentieth of the cost.
_SEED_EPOCH = dataclasses.replace(SEED_RECIPE, epochs=1)

#: Every recipe the comparisons train, by name; each runs once per seed of :data:`SEEDS`.
RECIPES: dict[str, Recipe] = {
    "default recipe": DEFAULT_RECIPE,
    "MLP": dataclasses.replace(DEFAULT_RECIPE, model_name="mlp"),
    "no batch norm": dataclasses.replace(DEFAULT_RECIPE, model_name="fast_cnn_plain"),
    "wide CNN": dataclasses.replace(DEFAULT_RECIPE, model_name="wide_cnn"),
    "headline model": HEADLINE_RECIPE,
    "dropout 0.3": dataclasses.replace(DEFAULT_RECIPE, model_name="fast_cnn_dropout_0.3"),
    "batch 512": dataclasses.replace(DEFAULT_RECIPE, batch_size=512),
    "10 epochs": dataclasses.replace(DEFAULT_RECIPE, epochs=10),
    "original recipe, 1 epoch": _SEED_EPOCH,
    "original, rate 0.01": dataclasses.replace(_SEED_EPOCH, learning_rate=1e-2),
    "original, momentum": dataclasses.replace(_SEED_EPOCH, optimizer_name="seed_momentum"),
    "original, Adam": dataclasses.replace(_SEED_EPOCH, optimizer_name="seed_adam"),
}

#: Runs outside the comparisons, by name: the seed post's whole recipe, once, with seed 0.
SINGLE_RUNS: dict[str, Recipe] = {"original recipe, 20 epochs": SEED_RECIPE}


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
    >>> changed_fields(DEFAULT_RECIPE, dataclasses.replace(DEFAULT_RECIPE, epochs=5))
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
    Comparison("flips", "wide CNN", ("headline model",)),
    Comparison("dropout", "default recipe", ("dropout 0.3",)),
    Comparison("batch size", "default recipe", ("batch 512",)),
    Comparison("epochs", "default recipe", ("10 epochs",)),
    Comparison("original optimizer", "original recipe, 1 epoch",
               ("original, rate 0.01", "original, momentum", "original, Adam")),
)


def seconds_to_target(history: Mapping[str, Sequence[float]], training_seconds: float,
                      target: float = TARGET_ACCURACY) -> float:
    """Seconds a run took to reach ``target`` validation accuracy, from its curve and total time.

    Every epoch of a run costs about the same, so the first epoch that reaches the target
    ends at that share of the run's training seconds.

    Parameters
    ----------
    history
        The run's learning curves, with ``"val_accuracy"`` per epoch.
    training_seconds
        How long the whole ``fit`` took.
    target
        The validation accuracy to reach.

    Returns
    -------
    float
        Seconds, or ``nan`` if no epoch reached the target.
    """
    curve = history["val_accuracy"]
    reached = next((epoch for epoch, accuracy in enumerate(curve, start=1) if accuracy >= target), None)
    return math.nan if reached is None else training_seconds * reached / len(curve)


def compare(table: pd.DataFrame, comparison: Comparison, metric: str = "validation accuracy") -> pd.DataFrame:
    """Each variant's mean difference to the base over the seeds, its standard error and verdict.

    A difference counts when it exceeds twice its standard error,
    ``sqrt(sd_base**2 / n_base + sd_variant**2 / n_variant)``; otherwise it is within noise.

    Parameters
    ----------
    table
        One row per run and seed, with columns ``run``, ``seed`` and ``metric``.
    comparison
        What to compare.
    metric
        A column of ``table``: ``"validation accuracy"`` or ``"seconds to 92%"``, say.

    Returns
    -------
    pandas.DataFrame
        One row per variant: ``comparison``, ``base``, ``variant``, ``change``, ``seeds``,
        ``base mean``, ``variant mean``, ``variant sd``, ``difference``, ``standard error``
        and ``verdict`` (``"higher"``, ``"lower"`` or ``"within noise"``).

    Raises
    ------
    ValueError
        If a recipe of the comparison has fewer than 2 seeds with a value in ``table``.
    """
    def values(run: str) -> pd.Series:
        found = table.loc[table["run"] == run, metric].dropna()
        if len(found) < 2:
            raise ValueError(f"comparison {comparison.name!r} needs at least 2 seeds of {run!r} with "
                             f"a {metric!r}, found {len(found)}; run the sweep for it: "
                             f"python -m fmnist_helpers.sweep --runs {run!r}")
        return found

    base = values(comparison.base)
    rows = []
    for variant in comparison.variants:
        other = values(variant)
        difference = other.mean() - base.mean()
        error = math.sqrt(base.var() / len(base) + other.var() / len(other))
        verdict = ("within noise" if abs(difference) <= 2 * error
                   else "higher" if difference > 0 else "lower")
        rows.append({
            "comparison": comparison.name, "base": comparison.base, "variant": variant,
            "change": comparison.describe(variant), "seeds": min(len(base), len(other)),
            "base mean": base.mean(), "variant mean": other.mean(), "variant sd": other.std(),
            "difference": difference, "standard error": error, "verdict": verdict,
        })
    return pd.DataFrame(rows)


def compare_all(table: pd.DataFrame, comparisons: Sequence[Comparison] = COMPARISONS,
                metric: str = "validation accuracy") -> pd.DataFrame:
    """:func:`compare` for every comparison, one table, indexed by variant."""
    return pd.concat([compare(table, comparison, metric) for comparison in comparisons]).set_index("variant")


def format_difference(row: Mapping[str, Any], scale: float = 100, unit: str = " points") -> str:
    """A difference and twice its standard error, rounded to what the noise allows.

    Parameters
    ----------
    row
        A row of :func:`compare`.
    scale
        Multiplies both numbers: 100 turns accuracies into percentage points.
    unit
        Appended to the result.

    Returns
    -------
    str
        Such as ``"+4.6 ± 0.4 points"``: one decimal, or more while twice the standard
        error rounds to zero or to the same figure as the difference (``"+0.46 ± 0.45"``,
        so that a reader sees which side of the rule it falls on).

    Examples
    --------
    >>> format_difference({"difference": 0.0461, "standard error": 0.0021})
    '+4.6 ± 0.4 points'
    """
    difference, margin = scale * row["difference"], 2 * scale * row["standard error"]
    decimals = 1
    while decimals < 4 and margin > 0 and f"{margin:.{decimals}f}" == f"{0:.{decimals}f}":
        decimals += 1
    if margin > 0 and f"{abs(difference):.{decimals}f}" == f"{margin:.{decimals}f}":
        decimals += 1  # one more, to show which side of the margin the difference falls
    return f"{difference:+.{decimals}f} ± {margin:.{decimals}f}{unit}"


def format_seconds(seconds: float) -> str:
    """Seconds to two significant digits, as a machine whose speed drifts allows: ``"110"``.

    Parameters
    ----------
    seconds
        A duration; ``nan`` for none.

    Returns
    -------
    str
        Such as ``"52"``, ``"110"`` or ``"1.3"``; ``"-"`` for ``nan``.

    Examples
    --------
    >>> format_seconds(105.2), format_seconds(52.49), format_seconds(float("nan"))
    ('110', '52', '-')
    """
    if math.isnan(seconds):
        return "-"
    return f"{float(f'{seconds:.2g}'):g}"
