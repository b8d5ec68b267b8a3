"""The book's training recipes and execution profiles, each written once as a frozen record."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_RECIPE",
    "HEADLINE_RECIPE",
    "METHOD_FIELDS",
    "PROFILES",
    "WIDE_FLIPS_RECIPE",
    "ORIGINAL_RECIPE",
    "Profile",
    "Recipe",
]


@dataclass(frozen=True)
class Recipe:
    """A model and how to train it: everything a training run needs besides the data.

    A variant is ``dataclasses.replace(DEFAULT_RECIPE, epochs=3)``, never a second copy.

    Parameters
    ----------
    model_name
        A key of :data:`fmnist_helpers.MODELS`.
    optimizer_name
        One of :data:`fmnist_helpers.OPTIMIZERS`, such as ``"adam"`` or the original post's
        ``"original_sgd"`` (see :func:`fmnist_helpers.make_optimizer`).
    learning_rate
        Peak learning rate (the initial one for ``"original_sgd"``).
    batch_size, epochs
        As in ``model.fit``.
    seed
        Seeds the initial weights, the shuffling and dropout (:func:`fmnist_helpers.seed_everything`).
    label_smoothing
        Train on labels that give the right class ``1 - label_smoothing`` plus an equal share
        of ``label_smoothing`` to every class (``keras.losses.CategoricalCrossentropy``); 0: off.
    weight_ema
        Momentum of an exponential moving average of the weights, which replaces them at the
        end of training (the optimizer's ``use_ema``); 0: off. This and ``label_smoothing``
        are methods the speed appendix measures; chapter 5 trains without them, so they are
        not among its papermill parameters.
    """

    model_name: str = "fast_cnn"
    optimizer_name: str = "adam"
    learning_rate: float = 1e-2
    batch_size: int = 256
    epochs: int = 5
    seed: int = 0
    label_smoothing: float = 0.0
    weight_ema: float = 0.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.epochs < 1:
            raise ValueError(
                f"batch_size and epochs must be at least 1, got batch_size={self.batch_size}, "
                f"epochs={self.epochs}"
            )
        if not 0 <= self.label_smoothing < 1 or not 0 <= self.weight_ema < 1:
            raise ValueError(
                f"label_smoothing and weight_ema must be in [0, 1), got "
                f"label_smoothing={self.label_smoothing}, weight_ema={self.weight_ema}"
            )

    def total_steps(self, train_size: int) -> int:
        """Optimizer steps of the whole run on ``train_size`` images (the schedule's length)."""
        return self.epochs * math.ceil(train_size / self.batch_size)


#: The original post's recipe: its CNN, plain SGD at 0.001 with Keras 2's decay, batches of 32,
#: 20 epochs.
ORIGINAL_RECIPE = Recipe(model_name="original_cnn", optimizer_name="original_sgd", learning_rate=1e-3,
                     batch_size=32, epochs=20)

#: The book's default: the fast CNN, Adam with warm-up and cosine decay, 5 epochs (chapter 7
#: compares it with 10 epochs, dropout 0.3 and no batch normalization).
DEFAULT_RECIPE = Recipe()

#: The wide CNN with flipped training images: the default recipe with the fast CNN twice as
#: wide and flipping (chapter 7 measures each of the two changes over several seeds).
WIDE_FLIPS_RECIPE = dataclasses.replace(DEFAULT_RECIPE, model_name="wide_cnn_flips")

#: The headline model (`make headline`), the book's most accurate: the wide CNN with flipped
#: and shifted training images (``best_cnn``), 20 epochs; ``predict`` uses it when it is saved.
HEADLINE_RECIPE = dataclasses.replace(DEFAULT_RECIPE, model_name="best_cnn", epochs=20)


#: Recipe fields that only the speed appendix's measure of methods changes (not chapter 5).
METHOD_FIELDS: tuple[str, ...] = ("label_smoothing", "weight_ema")


@dataclass(frozen=True)
class Profile:
    """How the chapters are executed: a recipe, how much data it trains on, what it must reach.

    Parameters
    ----------
    name
        ``"full"`` (what the published site shows) or ``"smoke"`` (every code path, quickly).
    recipe
        The training recipe of chapter 5 (and of chapters 6 and 8 when they must train).
    train_size
        Use at most this many training images (after the validation split).
    min_test_accuracy
        The hidden checks fail below this test accuracy.
    """

    name: str
    recipe: Recipe = DEFAULT_RECIPE
    train_size: int = 60000
    min_test_accuracy: float = 0.915

    def parameters(self) -> dict[str, Any]:
        """The flat papermill parameters: ``profile``, the recipe's fields (but :data:`METHOD_FIELDS`), and the rest."""
        fields = dataclasses.asdict(self.recipe)
        for method in METHOD_FIELDS:
            del fields[method]
        return {
            "profile": self.name,
            **fields,
            "train_size": self.train_size,
            "min_test_accuracy": self.min_test_accuracy,
        }


_FULL = Profile("full")

#: Execution profiles by name. ``smoke`` is ``full`` on 2,000 images for one epoch (8 steps),
#: which must beat guessing one class in ten (10%) clearly; the default reaches about 20% there.
PROFILES: dict[str, Profile] = {
    "full": _FULL,
    "smoke": dataclasses.replace(
        _FULL, name="smoke", recipe=dataclasses.replace(_FULL.recipe, epochs=1), train_size=2000,
        min_test_accuracy=0.15,
    ),
}
