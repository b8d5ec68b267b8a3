"""Seeding, optimizers, the one-line-per-epoch logger and the recipe's reproducible fit."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import keras
import numpy as np
import pandas as pd

from .models import build_model
from .recipes import Recipe

__all__ = [
    "OPTIMIZERS",
    "EpochLogger",
    "check_follows_recipe",
    "load_history",
    "load_or_train_model",
    "make_optimizer",
    "make_schedule",
    "save_history",
    "save_metrics",
    "seed_everything",
    "train_model",
]

#: Optimizer names that :func:`make_optimizer` accepts.
#: The three ``original_`` ones share the original post's schedule (inverse-time decay), so that
#: they differ from its plain SGD in the optimizer alone.
OPTIMIZERS: tuple[str, ...] = ("original_sgd", "original_momentum", "original_adam", "sgd", "adam")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, and make TensorFlow's ops deterministic.

    Call it before building a model: the initial weights are drawn from these seeds.
    With the same seed, on the same machine and library versions, a training run
    repeats exactly.

    Parameters
    ----------
    seed
        Any non-negative integer.
    """
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def make_schedule(
    name: str, learning_rate: float, total_steps: int | None = None, warmup_fraction: float = 0.1
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Build the learning-rate schedule that :func:`make_optimizer` gives optimizer ``name``.

    Parameters
    ----------
    name
        ``"original_sgd"``, ``"original_momentum"`` or ``"original_adam"``: the original post's Keras 2
        ``decay=1e-5``, which divided the rate by ``1 + 1e-5 * step``; in Keras 3 terms
        ``InverseTimeDecay(learning_rate, decay_steps=1, decay_rate=1e-5)``.
        ``"sgd"`` or ``"adam"``: with ``total_steps``, a linear warm-up from 0 over
        ``warmup_fraction`` of the steps, then a cosine decay to 0; without, constant.
    learning_rate
        The initial (``"original_..."``) or peak learning rate.
    total_steps
        Number of training steps of the run.
    warmup_fraction
        Share of ``total_steps`` spent warming up.

    Returns
    -------
    float or keras.optimizers.schedules.LearningRateSchedule
        A float for a constant rate.

    Raises
    ------
    ValueError
        If ``name`` is unknown or ``learning_rate`` is not positive.
    """
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    if name.startswith("original_"):
        return keras.optimizers.schedules.InverseTimeDecay(
            learning_rate, decay_steps=1, decay_rate=1e-5
        )
    if total_steps is None:
        return learning_rate
    warmup_steps = int(total_steps * warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=total_steps - warmup_steps,
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )


def make_optimizer(
    name: str, learning_rate: float, total_steps: int | None = None, warmup_fraction: float = 0.1,
    weight_ema: float = 0.0,
) -> keras.optimizers.Optimizer:
    """Build one of the book's optimizers with its learning-rate schedule.

    Parameters
    ----------
    name
        ``"original_sgd"``: the original post's ``SGD(lr=learning_rate, decay=1e-5)`` in Keras 3
        terms (plain SGD, inverse-time decay).
        ``"original_momentum"``: the same with momentum 0.9; ``"original_adam"``: Adam on the same
        schedule. They change the optimizer alone, for chapter 7's comparisons.
        ``"sgd"``: SGD with Nesterov momentum 0.9.
        ``"adam"``: Adam.
    learning_rate, total_steps, warmup_fraction
        The schedule, as in :func:`make_schedule`.
    weight_ema
        When above 0, keep an exponential moving average of the weights with this momentum
        and put it in their place at the end of ``fit`` (Keras' ``use_ema``).

    Returns
    -------
    keras.optimizers.Optimizer

    Raises
    ------
    ValueError
        If ``name`` is unknown or ``learning_rate`` is not positive.
    """
    schedule = make_schedule(name, learning_rate, total_steps, warmup_fraction)
    ema: dict[str, Any] = {"use_ema": True, "ema_momentum": weight_ema} if weight_ema else {}
    if name == "original_sgd":
        return keras.optimizers.SGD(learning_rate=schedule, **ema)
    if name == "original_momentum":
        return keras.optimizers.SGD(learning_rate=schedule, momentum=0.9, **ema)
    if name == "original_adam":
        return keras.optimizers.Adam(learning_rate=schedule, **ema)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=schedule, momentum=0.9, nesterov=True, **ema)
    return keras.optimizers.Adam(learning_rate=schedule, **ema)


class EpochLogger(keras.callbacks.Callback):
    """Print one concise line per epoch: its seconds and metrics, and no progress bars.

    The seconds count training only, not the scoring of validation data, and vary from
    machine to machine (and run to run); the metrics repeat exactly in a seeded run.
    After training, ``seconds`` holds each epoch's wall-clock seconds and ``cpu_seconds``
    the process's CPU seconds in the same spans (user and system, every thread), which
    other programs running beside it change less.

    Parameters
    ----------
    file
        Where to print; standard output when ``None``.
    """

    def __init__(self, file: TextIO | None = None) -> None:
        super().__init__()
        self.file = file
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []
        self._start: tuple[float, float] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epochs = self.params.get("epochs")
        self.seconds = []
        self.cpu_seconds = []

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = (time.perf_counter(), time.process_time())

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._stop()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._stop()  # already stopped when there was validation data
        metrics = ", ".join(f"{name} {value:.4f}" for name, value in (logs or {}).items())
        print(f"Epoch {epoch + 1}/{self.epochs} ({self.seconds[-1]:.1f} s): {metrics}", file=self.file,
              flush=True)

    def _stop(self) -> None:
        if self._start is not None:
            self.seconds.append(time.perf_counter() - self._start[0])
            self.cpu_seconds.append(time.process_time() - self._start[1])
            self._start = None


def train_model(
    recipe: Recipe,
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    log_epochs: bool = True,
) -> keras.callbacks.History:
    """Seed, build, compile and fit a recipe's model: chapter 5's training, in one call.

    Chapter 5 writes these steps out; a hidden check there (:func:`check_follows_recipe`)
    fails if its model, ``compile`` or ``fit`` arguments differ from these, so the sweep,
    the benchmark and chapters 6 and 8 train exactly what chapter 5 teaches.

    Parameters
    ----------
    recipe
        The model and its training settings.
    x_train, y_train
        Preprocessed training images and integer labels.
    validation_data
        ``(x_val, y_val)`` scored after each epoch, or ``None``.
    callbacks
        More Keras callbacks, e.g. a timer or ``keras.callbacks.EarlyStopping``.
    log_epochs
        Print one line per epoch (:class:`EpochLogger`).

    Returns
    -------
    keras.callbacks.History
        ``history.model`` is the trained model; ``history.history`` maps ``"loss"``,
        ``"accuracy"`` (and ``"val_..."``) to one value per epoch.

    Raises
    ------
    ValueError
        If ``x_train`` and ``y_train`` differ in length, or the labels are not integers.
    """
    if len(x_train) != len(y_train):
        raise ValueError(
            f"x_train has {len(x_train)} examples but y_train has {len(y_train)}; "
            f"expected one label per image"
        )
    if np.ndim(y_train) != 1:
        raise ValueError(
            f"expected integer class labels of shape ({len(y_train)},), got shape {np.shape(y_train)}; "
            f"for one-hot labels use labels.argmax(axis=1)"
        )
    loss: str | keras.losses.Loss = "sparse_categorical_crossentropy"
    if recipe.label_smoothing:  # smoothing needs one-hot labels
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)
        y_train = keras.utils.to_categorical(y_train, 10)
        if validation_data is not None:
            validation_data = (validation_data[0], keras.utils.to_categorical(validation_data[1], 10))
    seed_everything(recipe.seed)
    model = build_model(recipe.model_name)
    model.compile(
        optimizer=make_optimizer(recipe.optimizer_name, recipe.learning_rate,
                                 total_steps=recipe.total_steps(len(x_train)),
                                 weight_ema=recipe.weight_ema),
        loss=loss,
        metrics=["accuracy"],
    )
    return model.fit(
        x_train,
        y_train,
        batch_size=recipe.batch_size,
        epochs=recipe.epochs,
        validation_data=validation_data,
        callbacks=[*([EpochLogger()] if log_epochs else []), *callbacks],
        verbose=0,
    )


def load_or_train_model(
    path: str | os.PathLike[str], recipe: Recipe, train_size: int | None = None
) -> keras.Model:
    """Load the model chapter 5 saved at ``path``; where there is none, train it as chapter 5 does.

    A chapter opened alone (in Colab, say) has no saved model: this trains ``recipe`` on
    chapter 5's training split, with one line per epoch, and saves it at ``path`` for the
    next chapter.

    Parameters
    ----------
    path
        The ``.keras`` file chapter 5 writes.
    recipe
        What to train when there is no file.
    train_size
        Train on at most this many images, as chapter 5's ``train_size`` parameter.

    Returns
    -------
    keras.Model
    """
    from .data import load_data
    from .evaluation import load_trained_model
    from .preprocessing import preprocess_images, split_validation

    path = Path(path)
    if path.is_file():
        return load_trained_model(path)
    print(f"No trained model at {path}: training chapter 5's recipe now, as chapter 5 does.", flush=True)
    (x_train, y_train), _ = load_data()
    (x_fit, y_fit), validation_data = split_validation(
        preprocess_images(x_train), y_train, validation_size=0.1, seed=recipe.seed
    )
    history = train_model(recipe, x_fit[:train_size], y_fit[:train_size], validation_data=validation_data)
    path.parent.mkdir(parents=True, exist_ok=True)
    history.model.save(path)
    return history.model


def check_follows_recipe(history: keras.callbacks.History, recipe: Recipe, train_size: int) -> None:
    """Check that a fit trained exactly what :func:`train_model` trains for ``recipe``.

    Compares the model's architecture (``get_config()``), its optimizer and learning-rate
    schedule, its loss and metrics, and the epochs and steps of the fit.

    Parameters
    ----------
    history
        What ``model.fit`` returned.
    recipe
        The recipe the fit should follow.
    train_size
        How many training images the fit saw.

    Raises
    ------
    ValueError
        Naming the first setting that differs, with both values.
    """
    model = history.model
    reference = build_model(recipe.model_name)
    expected_optimizer = make_optimizer(recipe.optimizer_name, recipe.learning_rate,
                                        total_steps=recipe.total_steps(train_size))
    comparisons = {
        "model (get_config())": (model.get_config(), reference.get_config()),
        "epochs": (history.params.get("epochs"), recipe.epochs),
        "steps per epoch": (history.params.get("steps"), math.ceil(train_size / recipe.batch_size)),
        "loss": (model.loss, "sparse_categorical_crossentropy"),
        "metrics": (model.get_compile_config().get("metrics"), ["accuracy"]),
        "optimizer": (_flat_config(model.optimizer), _flat_config(expected_optimizer)),
    }
    for setting, (actual, expected) in comparisons.items():
        if actual == expected:
            continue
        if isinstance(actual, dict) and isinstance(expected, dict) and setting == "optimizer":
            keys = sorted(key for key in actual.keys() | expected.keys() if actual.get(key) != expected.get(key))
            actual = {key: actual.get(key) for key in keys}
            expected = {key: expected.get(key) for key in keys}
        raise ValueError(
            f"the fit does not follow the recipe: its {setting} is {actual!r}, expected "
            f"{expected!r} from {recipe}. To fix: train with the recipe's settings, as "
            f"fmnist_helpers.train_model does"
        )


def _flat_config(optimizer: keras.optimizers.Optimizer) -> dict[str, Any]:
    """An optimizer's class and settings, its schedule's flattened in, without names."""
    flat: dict[str, Any] = {"class": type(optimizer).__name__}
    for key, value in optimizer.get_config().items():
        if key == "name":
            continue
        if key == "learning_rate" and isinstance(value, dict):
            flat["learning_rate schedule"] = value.get("class_name")
            for name, setting in value.get("config", {}).items():
                if name != "name":
                    flat[f"learning_rate {name}"] = setting
        else:
            flat[key] = value
    return flat


def save_history(history: keras.callbacks.History | dict[str, list[float]], path: str | os.PathLike[str]) -> Path:
    """Save a training history as JSON, so a later chapter can plot it.

    Parameters
    ----------
    history
        What ``model.fit`` returned, or its ``.history`` dict.
    path
        Where to write; parent folders are created.

    Returns
    -------
    Path
        The written file.
    """
    metrics = history.history if isinstance(history, keras.callbacks.History) else history
    return _write_json({name: [float(v) for v in values] for name, values in metrics.items()}, path)


def save_metrics(metrics: dict[str, float], path: str | os.PathLike[str]) -> Path:
    """Save a run's final scores (e.g. test accuracy) as JSON, for sweeps to collect.

    Parameters
    ----------
    metrics
        Metric name to value.
    path
        Where to write; parent folders are created.

    Returns
    -------
    Path
        The written file.
    """
    return _write_json({name: float(value) for name, value in metrics.items()}, path)


def _write_json(content: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write JSON, creating parent folders; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    return path


def load_history(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load a history saved by :func:`save_history` as a table, one row per epoch.

    Parameters
    ----------
    path
        A JSON file written by :func:`save_history`.

    Returns
    -------
    pandas.DataFrame
        One column per metric, index ``epoch`` counting from 1.

    Raises
    ------
    FileNotFoundError
        If the file does not exist, with a hint to run the training chapter.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no training history at {path}; run the training chapter (5_train) first"
        )
    table = pd.DataFrame(json.loads(path.read_text()))
    table.index = pd.RangeIndex(1, len(table) + 1, name="epoch")
    return table
