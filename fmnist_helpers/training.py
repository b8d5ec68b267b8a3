"""Seeding, optimizers and a quiet, reproducible fit."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

__all__ = [
    "OPTIMIZERS",
    "EpochLogger",
    "load_history",
    "make_optimizer",
    "make_schedule",
    "save_history",
    "save_metrics",
    "seed_everything",
    "train_model",
]

#: Optimizer names that :func:`make_optimizer` accepts.
OPTIMIZERS: tuple[str, ...] = ("seed_sgd", "sgd", "adam")


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
        ``"seed_sgd"``: the seed post's Keras 2 ``decay=1e-5``, which divided the rate by
        ``1 + 1e-5 * step``; in Keras 3 terms ``InverseTimeDecay(learning_rate,
        decay_steps=1, decay_rate=1e-5)``.
        ``"sgd"`` or ``"adam"``: with ``total_steps``, a linear warm-up from 0 over
        ``warmup_fraction`` of the steps, then a cosine decay to 0; without, constant.
    learning_rate
        The initial (``"seed_sgd"``) or peak learning rate.
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
    if name == "seed_sgd":
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
    name: str, learning_rate: float, total_steps: int | None = None, warmup_fraction: float = 0.1
) -> keras.optimizers.Optimizer:
    """Build one of the book's optimizers with its learning-rate schedule.

    Parameters
    ----------
    name
        ``"seed_sgd"``: the seed post's ``SGD(lr=learning_rate, decay=1e-5)`` in Keras 3
        terms (plain SGD, inverse-time decay).
        ``"sgd"``: SGD with Nesterov momentum 0.9.
        ``"adam"``: Adam.
    learning_rate, total_steps, warmup_fraction
        The schedule, as in :func:`make_schedule`.

    Returns
    -------
    keras.optimizers.Optimizer

    Raises
    ------
    ValueError
        If ``name`` is unknown or ``learning_rate`` is not positive.
    """
    schedule = make_schedule(name, learning_rate, total_steps, warmup_fraction)
    if name == "seed_sgd":
        return keras.optimizers.SGD(learning_rate=schedule)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=schedule, momentum=0.9, nesterov=True)
    return keras.optimizers.Adam(learning_rate=schedule)


class EpochLogger(keras.callbacks.Callback):
    """Print one concise line per epoch: its metrics, and no timings or progress bars."""

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epochs = self.params.get("epochs")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        metrics = ", ".join(f"{name} {value:.4f}" for name, value in (logs or {}).items())
        print(f"Epoch {epoch + 1}/{self.epochs}: {metrics}", flush=True)


def train_model(
    model: keras.Model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    optimizer: keras.optimizers.Optimizer,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    log_epochs: bool = True,
) -> keras.callbacks.History:
    """Compile and fit a classifier, printing one line per epoch.

    The loss follows the labels: categorical cross-entropy for one-hot labels,
    sparse categorical cross-entropy for integer labels. Call
    :func:`seed_everything` before building the model for a repeatable run.

    Parameters
    ----------
    model
        An uncompiled Keras classifier ending in a softmax.
    x_train, y_train
        Training images and labels (integers or one-hot).
    epochs, batch_size
        As in ``model.fit``.
    optimizer
        For example from :func:`make_optimizer`.
    validation_data
        ``(x_val, y_val)`` evaluated after each epoch, or ``None``.
    log_epochs
        Print one line per epoch.

    Returns
    -------
    keras.callbacks.History
        ``history.history`` maps ``"loss"``, ``"accuracy"`` (and ``"val_..."``) to
        one value per epoch. Keras 2's ``"acc"`` key is now ``"accuracy"``.

    Raises
    ------
    ValueError
        If ``x_train`` and ``y_train`` differ in length.
    """
    if len(x_train) != len(y_train):
        raise ValueError(
            f"x_train has {len(x_train)} examples but y_train has {len(y_train)}; "
            f"expected one label per image"
        )
    one_hot_labels = np.ndim(y_train) == 2
    model.compile(
        optimizer=optimizer,
        loss="categorical_crossentropy" if one_hot_labels else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        shuffle=True,
        verbose=0,
        callbacks=[EpochLogger()] if log_epochs else [],
    )


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
