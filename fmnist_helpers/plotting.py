"""Pictures of the data, the training run and the model's mistakes."""

from __future__ import annotations

import math
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
    "plot_feature_maps",
    "plot_filters",
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
    """Show images in a grid, each captioned with its class name (the original post's 2x5 grid).

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

    Where there are fewer mistakes than cells, the cells left over stay empty; where there
    are none, the figure says so in its title.

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
        The axes of the grid, shape ``(nrows, ncols)``.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)[: nrows * ncols]
    grid = _axes_grid(nrows, ncols, None)
    for ax in grid.flat[len(wrong):]:
        ax.axis("off")
    if len(wrong) == 0:
        grid.flat[0].figure.suptitle("No misclassified images: every prediction is right")
        return grid
    titles = [f"{class_names[y_true[i]]}\n→ {class_names[y_pred[i]]}" for i in wrong]
    plot_image_grid(images[wrong], titles=titles, nrows=1, ncols=len(wrong),
                    axes=grid.flat[: len(wrong)])
    return grid


def _plot_signed_grid(values: np.ndarray, ncols: int, label: str | None,
                      axes: np.ndarray | None) -> np.ndarray:
    """Draw ``values[:, :, i]`` for each ``i`` in red (positive) and blue (negative), 0 in white.

    With a ``label``, all share one scale and a colour bar of that label; without, each is
    drawn on its own scale, from minus to plus its largest size.
    """
    count = values.shape[-1]
    grid = _axes_grid(math.ceil(count / ncols), ncols, axes, size=1.1)
    shared = float(np.abs(values).max()) or 1.0
    for index, ax in enumerate(grid.flat):
        if index >= count:
            ax.axis("off")
            continue
        limit = shared if label else float(np.abs(values[:, :, index]).max()) or 1.0
        image = ax.imshow(values[:, :, index], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"filter {index}", fontsize=9)
    if label:
        grid.flat[0].figure.colorbar(image, ax=list(grid.flat), label=label, shrink=0.8)
    return grid


def plot_filters(kernel: np.ndarray, *, ncols: int = 8, axes: np.ndarray | None = None) -> np.ndarray:
    """Draw the filters of a first ``Conv2D`` layer on one colour scale, red positive, blue negative.

    Parameters
    ----------
    kernel
        The layer's kernel, ``layer.kernel.numpy()``: shape ``(height, width, 1, filters)``
        for a layer on grayscale images, or ``(height, width, filters)``.
    ncols
        Filters per row.
    axes
        Axes to draw into, at least one per filter; a new figure when ``None``.

    Returns
    -------
    numpy.ndarray
        The axes of the grid; each is titled ``filter i``, ``i`` counting from 0 as the
        kernel's last axis does.

    Raises
    ------
    ValueError
        If the kernel has more than one input channel, or not 3 or 4 axes.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim == 4 and kernel.shape[2] == 1:
        kernel = kernel[:, :, 0, :]
    if kernel.ndim != 3:
        raise ValueError(f"expected a kernel of shape (height, width, 1, filters), got "
                         f"{kernel.shape}; for a layer with several input channels, pick one: "
                         f"kernel[:, :, channel, :]")
    return _plot_signed_grid(kernel, ncols, "weight", axes)


def plot_feature_maps(maps: np.ndarray, *, ncols: int = 8, axes: np.ndarray | None = None) -> np.ndarray:
    """Draw one image's feature maps, one per filter: 0 in white, positive red, negative blue.

    Each map has its own scale, from minus to plus its largest size, so that a filter whose
    outputs are all small still shows where they are largest.

    Parameters
    ----------
    maps
        A convolution layer's output for one image: ``(height, width, filters)``, or
        ``(1, height, width, filters)`` as ``predict`` returns it for a batch of one.
    ncols
        Maps per row.
    axes
        Axes to draw into, at least one per map; a new figure when ``None``.

    Returns
    -------
    numpy.ndarray
        The axes of the grid; each is titled ``filter i`` for the filter that made it.

    Raises
    ------
    ValueError
        If ``maps`` holds more than one image, or not 3 or 4 axes.
    """
    maps = np.asarray(maps)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(f"expected one image's feature maps, shape (height, width, filters), "
                         f"got {maps.shape}; for a batch, pick one image: maps[index]")
    return _plot_signed_grid(maps, ncols, None, axes)


#: The smallest probability :func:`plot_probabilities` labels on a bar of neither the
#: predicted nor the true class.
LABELLED_PROBABILITY = 0.05


def _probability_label(probability: float) -> str:
    """A bar's label: a percentage that rounds to 0% or 100% only when it is exactly that."""
    if 0 < probability < 0.001:
        return "<0.1%"
    if 0.999 < probability < 1:
        return ">99.9%"
    if 0 < probability < 0.005 or 0.995 <= probability < 1:
        return f"{probability:.1%}"
    return f"{probability:.0%}"


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
    class near 0) still shows which class was right. The bars of these two classes, and
    any other of at least ``LABELLED_PROBABILITY`` (5%), are labelled with their
    probability; the rest stay unlabelled. Labels are in whole percent, with one decimal
    within half a percent of 0 or 100%, and ``<0.1%`` or ``>99.9%`` beyond: only a
    probability of exactly 0 or 1 reads ``0%`` or ``100%``.

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
    labels = [_probability_label(p)
              if colors[index] != "lightgray" or p >= LABELLED_PROBABILITY else ""
              for index, p in enumerate(probabilities)]
    ax.bar_label(bars, labels=labels, padding=2, fontsize=9)
    ax.set_yticks(range(len(class_names)), class_names)
    for index, tick in enumerate(ax.get_yticklabels()):
        if colors[index] != "lightgray":
            tick.set_color(colors[index])
            tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_xlim(0, 1.22)  # room for a ">99.9%" label
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
    """Each variant's paired differences to its base: one dot per seed, the mean with its interval.

    Parameters
    ----------
    differences
        Rows of :func:`fmnist_helpers.experiments.compare`, indexed by variant (as
        :func:`~fmnist_helpers.experiments.compare_all` returns them), with ``low`` and
        ``high`` (the t interval) and ``verdict``; a difference that counts but does not
        hold after Holm's correction (``holds after Holm``) gets a hollow marker.
    table
        One row per run and seed, with columns ``run``, ``seed`` and ``metric``.
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
    from .experiments import paired_differences

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.55 * len(differences) + 1.6))
    styles = {"higher": ("tab:blue", "interval above 0"), "lower": ("tab:red", "interval below 0"),
              "undecided": ("tab:gray", "interval contains 0")}
    for position, (variant, row) in enumerate(differences.iterrows()):
        seeds = paired_differences(table, row["base"], variant, metric)
        ax.plot(scale * seeds, [position + 0.22] * len(seeds), "o", color="black", alpha=0.5,
                markersize=4, label="one seed (variant minus base)")
        color, label = styles[row["verdict"]]
        face = color
        if row["verdict"] != "undecided" and not row.get("holds after Holm", True):
            face, label = "white", f"{label}, not after Holm's correction"
        mean = scale * row["difference"]
        ax.errorbar(mean, position, xerr=[[mean - scale * row["low"]], [scale * row["high"] - mean]],
                    fmt="D", color=color, markerfacecolor=face, capsize=4, markersize=6,
                    label=f"mean, 95% {label}")
    ax.axvline(0, color="black", linewidth=0.8, linestyle=":")
    ax.set_yticks(range(len(differences)),
                  [f"{variant}\n(vs {row['base']})" for variant, row in differences.iterrows()],
                  fontsize=9)
    ax.set_ylim(len(differences) - 0.4, -0.6)
    ax.set_xlabel(f"{metric}: variant minus base, same seed ({unit})")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="best")
    return ax
