"""Pictures of the data, the training run and the model's mistakes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from .data import CLASS_NAMES

__all__ = [
    "plot_class_means",
    "plot_confusion_matrix",
    "plot_differences",
    "plot_history",
    "plot_image_grid",
    "plot_learning_rate",
    "plot_misclassified",
    "plot_pixel_histogram",
    "plot_probabilities",
]


def _axes_grid(nrows: int, ncols: int, axes: np.ndarray | None, size: float = 1.6) -> np.ndarray:
    if axes is None:
        _, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.15))
    return np.asarray(axes).reshape(nrows, ncols)


def plot_image_grid(
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray | None = None,
    *,
    titles: Sequence[str] | None = None,
    nrows: int = 2,
    ncols: int = 5,
    class_names: Sequence[str] = CLASS_NAMES,
    axes: np.ndarray | None = None,
) -> np.ndarray:
    """Show images in a grid, each captioned with its class name (the seed's 2x5 grid).

    Parameters
    ----------
    images
        At least ``nrows * ncols`` images, ``(n, 28, 28)`` or ``(n, 28, 28, 1)``.
    labels
        Integer labels for the captions; ignored where ``titles`` is given.
    titles
        Captions to use instead of class names.
    nrows, ncols
        Shape of the grid.
    class_names
        Names in label order.
    axes
        ``nrows * ncols`` axes to draw into; a new figure when ``None``.

    Returns
    -------
    numpy.ndarray
        The axes, shape ``(nrows, ncols)``.

    Raises
    ------
    ValueError
        If there are fewer images than cells.
    """
    cells = nrows * ncols
    if len(images) < cells:
        raise ValueError(f"a {nrows}x{ncols} grid needs {cells} images, got {len(images)}")
    grid = _axes_grid(nrows, ncols, axes)
    for index, ax in enumerate(grid.flat):
        ax.imshow(np.squeeze(images[index]), cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[index], fontsize=9)
        elif labels is not None:
            ax.set_title(class_names[int(labels[index])], fontsize=9)
    return grid


def plot_class_means(
    images: np.ndarray, labels: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> np.ndarray:
    """Show the mean image of each class: the "average" shirt, shoe, bag...

    Parameters
    ----------
    images
        ``(n, 28, 28)`` images.
    labels
        Integer labels.
    class_names
        Names in label order.

    Returns
    -------
    numpy.ndarray
        The axes of a 2x5 grid.
    """
    means = np.stack([images[labels == label].mean(axis=0) for label in range(len(class_names))])
    return plot_image_grid(means, range(len(class_names)), class_names=class_names)


def plot_pixel_histogram(
    images: np.ndarray, ax: Axes | None = None, bins: int | None = None
) -> Axes:
    """Plot how often each pixel value occurs, on a log scale (most pixels are 0).

    Integer images get one bar per value, so the bar at 0 counts exactly the pixels that
    are 0; its share of all pixels is written beside it.

    Parameters
    ----------
    images
        Any array of pixel values.
    ax
        Axes to draw into; a new figure when ``None``.
    bins
        Number of histogram bins; by default one per value for integer images, 64 otherwise.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    values = np.ravel(images)
    one_per_value = bins is None and values.dtype.kind in "ui"
    if one_per_value:  # bin edges halfway between values: the bar at 0 counts only zeros
        edges: int | np.ndarray = np.arange(int(values.min()), int(values.max()) + 2) - 0.5
    else:
        edges = 64 if bins is None else bins
    ax.hist(values, bins=edges, color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlabel("pixel value")
    ax.set_ylabel("number of pixels")
    ax.set_title("How often each pixel value occurs" + (" (one bar per value)" * one_per_value))
    zeros = int(np.count_nonzero(values == 0))
    if one_per_value and zeros:
        ax.annotate(f"exactly 0: {zeros / values.size:.0%} of all pixels", xy=(0, zeros),
                    xytext=(24, -6), textcoords="offset points", va="top", fontsize=9,
                    arrowprops={"arrowstyle": "->"})
    return ax


def plot_history(
    history: keras.callbacks.History | dict[str, list[float]] | pd.DataFrame,
    axes: Sequence[Axes] | None = None,
) -> Sequence[Axes]:
    """Plot loss and accuracy per epoch, training beside validation.

    Parameters
    ----------
    history
        What ``model.fit`` returned, its ``.history`` dict, or :func:`load_history`'s table.
    axes
        Two axes (loss, accuracy); a new figure when ``None``.

    Returns
    -------
    list of Axes
        The loss and the accuracy axes.
    """
    if isinstance(history, keras.callbacks.History):
        history = history.history
    table = pd.DataFrame(history)
    epochs = np.arange(1, len(table) + 1)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.plot(epochs, table[metric], marker="o", label="training")
        if f"val_{metric}" in table:
            ax.plot(epochs, table[f"val_{metric}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.set_title(metric.capitalize())
        ax.legend()
    return axes


def plot_confusion_matrix(table: pd.DataFrame, ax: Axes | None = None, **heatmap_kws: Any) -> Axes:
    """Draw a confusion matrix table as an annotated seaborn heatmap that shows the mistakes.

    Counts (integers) are shown as they are, normalized tables (floats) as percentages.
    The colour scale stops at the largest value off the diagonal (the most frequent
    mistake): the correct answers on the diagonal are all drawn in the darkest colour, and
    the mistakes are shaded against each other instead of fading next to them.

    Parameters
    ----------
    table
        From :func:`~fmnist_helpers.confusion_matrix_table`.
    ax
        Axes to draw into; a new figure when ``None``.
    **heatmap_kws
        Passed on to ``seaborn.heatmap`` (``vmax=`` sets another end of the colour scale).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6.5))
    values = table.to_numpy()
    normalized = values.dtype.kind == "f"
    off_diagonal = values[~np.eye(*values.shape, dtype=bool)]
    largest_mistake = off_diagonal.max() if off_diagonal.size and off_diagonal.max() > 0 else None
    options = {"annot": True, "fmt": ".0%" if normalized else "d", "cmap": "Blues",
               "vmin": 0, "vmax": largest_mistake, "cbar": True,
               "cbar_kws": {"label": ("share" if normalized else "count")
                            + " (the scale ends at the largest mistake)",
                            "format": PercentFormatter(1, decimals=0) if normalized else None}}
    sns.heatmap(table, ax=ax, **{**options, **heatmap_kws})
    ax.set_title("Confusion matrix" + (" (share of each actual class)" if normalized else ""))
    return ax


def plot_misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    nrows: int = 2,
    ncols: int = 5,
    class_names: Sequence[str] = CLASS_NAMES,
) -> np.ndarray:
    """Show the first misclassified images, captioned "true -> predicted".

    Parameters
    ----------
    images
        The evaluated images.
    y_true, y_pred
        Integer labels.
    nrows, ncols
        Shape of the grid.
    class_names
        Names in label order.

    Returns
    -------
    numpy.ndarray
        The axes of the grid.
    """
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[: nrows * ncols]
    titles = [f"{class_names[y_true[i]]}\n→ {class_names[y_pred[i]]}" for i in wrong]
    return plot_image_grid(images[wrong], titles=titles, nrows=nrows, ncols=ncols)


def plot_probabilities(
    probabilities: np.ndarray,
    true_label: int | None = None,
    ax: Axes | None = None,
    class_names: Sequence[str] = CLASS_NAMES,
    legend: bool = False,
) -> Axes:
    """Draw one image's predicted probabilities as horizontal bars.

    The predicted class is drawn in blue; the true class, when given and different,
    in red, and its name is written in red too, so that a confident mistake (the true
    class near 0) still shows which class was right. Each bar is labelled with its
    probability.

    Parameters
    ----------
    probabilities
        One probability per class.
    true_label
        The correct class, if known.
    ax
        Axes to draw into; a new figure when ``None``.
    class_names
        Names in label order.
    legend
        Also draw a legend that says what the blue and the red bar mean.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    colors = np.array(["lightgray"] * len(class_names), dtype=object)
    if true_label is not None:
        colors[true_label] = "tab:red"
    colors[int(np.argmax(probabilities))] = "tab:blue"
    bars = ax.barh(range(len(class_names)), probabilities, color=colors)
    ax.bar_label(bars, labels=[f"{p:.0%}" for p in probabilities], padding=2, fontsize=7)
    ax.set_yticks(range(len(class_names)), class_names)
    for index, tick in enumerate(ax.get_yticklabels()):
        if colors[index] != "lightgray":
            tick.set_color(colors[index])
            tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_xlim(0, 1.15)
    ax.set_xticks([0, 0.5, 1])
    ax.set_xlabel("probability")
    if legend:
        handles = [Patch(color="tab:blue", label="predicted class")]
        if true_label is not None and true_label != int(np.argmax(probabilities)):
            handles.append(Patch(color="tab:red", label="true class"))
        ax.legend(handles=handles, fontsize=8, loc="best")
    return ax


def plot_learning_rate(
    schedule: float | keras.optimizers.schedules.LearningRateSchedule,
    total_steps: int,
    ax: Axes | None = None,
    label: str | None = None,
) -> Axes:
    """Plot a learning rate over the steps of a run.

    Parameters
    ----------
    schedule
        A constant rate or a Keras schedule, e.g. from :func:`~fmnist_helpers.make_schedule`.
    total_steps
        Number of steps to draw.
    ax
        Axes to draw into; a new figure when ``None``.
    label
        Legend label.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    steps = np.linspace(0, total_steps, 200)
    if callable(schedule):
        rates = [float(schedule(step)) for step in steps]
    else:
        rates = [float(schedule)] * len(steps)
    ax.plot(steps, rates, label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("learning rate")
    ax.set_ylim(0, None)
    return ax


def plot_differences(
    differences: pd.DataFrame,
    table: pd.DataFrame,
    metric: str = "validation accuracy",
    *,
    scale: float = 100,
    unit: str = "points",
    ax: Axes | None = None,
) -> Axes:
    """Each variant's difference to its base recipe: one dot per seed, the mean with twice its error.

    Parameters
    ----------
    differences
        Rows of :func:`fmnist_helpers.experiments.compare`, indexed by variant (as
        :func:`~fmnist_helpers.experiments.compare_all` returns them).
    table
        One row per run and seed, with columns ``run`` and ``metric``.
    metric
        The column that was compared.
    scale, unit
        The x axis shows differences times ``scale``, in ``unit``.
    ax
        Where to draw; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.5 * len(differences) + 1.4))
    colors = {"higher": "tab:green", "lower": "tab:red", "within noise": "tab:gray"}
    for position, (variant, row) in enumerate(differences.iterrows()):
        seeds = table.loc[table["run"] == variant, metric].dropna()
        ax.plot(scale * (seeds - row["base mean"]), [position] * len(seeds), "o", color="black",
                alpha=0.4, markersize=4, label="one seed" if position == 0 else None)
        ax.errorbar(scale * row["difference"], position, xerr=2 * scale * row["standard error"],
                    fmt="D", color=colors[row["verdict"]], capsize=4, label=row["verdict"])
    ax.axvline(0, color="black", linewidth=0.8, linestyle=":", label="the base recipe's mean")
    ax.set_yticks(range(len(differences)),
                  [f"{row['comparison']}: {variant}" for variant, row in differences.iterrows()])
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric}, difference to the base ({unit}); mean ± 2 standard errors")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="best")
    return ax
