"""The book's models: the original post's CNN, an MLP baseline, the fast CNN and the wide CNN (with and without flips)."""

from __future__ import annotations

from collections.abc import Callable

import keras
import pandas as pd
from keras import layers

from .layers import FusedBatchNormalization, RandomShift

__all__ = [
    "INPUT_SHAPE",
    "MODELS",
    "build_best_cnn",
    "build_fast_cnn",
    "build_wide_cnn_flips",
    "build_mlp",
    "build_model",
    "build_original_cnn",
    "explain_params",
    "print_summary",
]

#: Height, width and channels of one preprocessed image.
INPUT_SHAPE: tuple[int, int, int] = (28, 28, 1)


def build_original_cnn(num_classes: int = 10) -> keras.Model:
    """Build the original post's CNN, layer for layer.

    Conv 128 3x3 relu, max-pool 2, dropout 0.3; conv 64 3x3 relu, max-pool 2,
    dropout 0.3; flatten; dense 512 relu, dropout 0.25; dense softmax.

    Parameters
    ----------
    num_classes
        Size of the softmax output.

    Returns
    -------
    keras.Model
        An uncompiled ``Sequential`` model named ``original_cnn`` taking ``(28, 28, 1)`` input.
    """
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            layers.Conv2D(128, 3, activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Dropout(0.3, name="dropout1"),
            layers.Conv2D(64, 3, activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Dropout(0.3, name="dropout2"),
            layers.Flatten(name="flatten"),
            layers.Dense(512, activation="relu", name="dense"),
            layers.Dropout(0.25, name="dropout3"),
            layers.Dense(num_classes, activation="softmax", name="probabilities"),
        ],
        name="original_cnn",
    )


def build_mlp(num_classes: int = 10, hidden_units: int = 128) -> keras.Model:
    """Build the baseline of TensorFlow's "Basic classification" tutorial.

    Flatten, one dense relu layer, dense softmax. It sees pixels, not shapes.

    Parameters
    ----------
    num_classes
        Size of the softmax output.
    hidden_units
        Width of the hidden layer.

    Returns
    -------
    keras.Model
        An uncompiled ``Sequential`` model named ``mlp`` taking ``(28, 28, 1)`` input.
    """
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            layers.Flatten(name="flatten"),
            layers.Dense(hidden_units, activation="relu", name="hidden"),
            layers.Dense(num_classes, activation="softmax", name="probabilities"),
        ],
        name="mlp",
    )


def build_fast_cnn(
    num_classes: int = 10,
    filters: tuple[int, ...] = (16, 32),
    dense_units: int = 128,
    batch_norm: bool = True,
    dropout: tuple[float, float] = (0.1, 0.1),
    augment: bool = False,
    shift: int = 0,
    fused: bool = True,
    bn_scale: bool = True,
    name: str = "fast_cnn",
) -> keras.Model:
    """Build a small CNN that learns fast on a CPU.

    One block per entry of ``filters``: conv 3x3 (same padding, so the border pixels stay
    in play), max-pool 2, batch normalization, relu. Then dropout, a dense relu layer,
    dropout and the softmax. Batch normalization comes *after* the pooling, as in Myrtle's
    "How to train your ResNet": it then normalizes a quarter of the values, which costs
    far less on a CPU than normalizing before the pooling (chapter 7 measures what batch
    normalization changes in this network). It is the book's :class:`~fmnist_helpers.layers.FusedBatchNormalization`,
    Keras' maths in TensorFlow's single fused kernel, which trains faster (the speed appendix
    measures it against ``keras.layers.BatchNormalization``). Its running statistics follow the
    batches with momentum 0.9 instead of Keras' 0.99, so that they are ready after the few
    hundred steps of a short run.

    Parameters
    ----------
    num_classes
        Size of the softmax output.
    filters
        Filters of each convolution block, one block per entry.
    dense_units
        Width of the hidden dense layer.
    batch_norm
        Normalize each block's pooled output; without it, the convolutions keep their biases.
    dropout
        Dropout rates before and after the dense layer; a rate of 0 leaves that layer out.
        The default 0.1 suits the book's short runs: chapter 7 compares it with 0.3.
    augment
        Start with a random horizontal flip of each training image. Keras' random
        preprocessing layers act only while training; ``predict`` sees the image as it is.
    shift
        Then shift each training image by up to this many pixels each way
        (:class:`~fmnist_helpers.layers.RandomShift`); 0 leaves it out.
    fused
        Normalize with :class:`~fmnist_helpers.layers.FusedBatchNormalization`; ``False``:
        with ``keras.layers.BatchNormalization`` (the same maths, more operations).
    bn_scale
        Train batch normalization's per-channel scale; ``False`` keeps it at 1.
    name
        The model's name.

    Returns
    -------
    keras.Model
        An uncompiled ``Sequential`` model taking ``(28, 28, 1)`` input.

    Raises
    ------
    ValueError
        If a dropout rate is outside [0, 1) or ``filters`` is empty.
    """
    if not filters:
        raise ValueError("filters must name at least one convolution block, got ()")
    for rate in dropout:
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rates must be in [0, 1), got {dropout}")
    front: list[keras.layers.Layer] = []
    if augment:
        front.append(layers.RandomFlip("horizontal", seed=1, name="flip"))
    if shift:
        front.append(RandomShift(shift, seed=2, name="shift"))
    blocks: list[keras.layers.Layer] = []
    for index, block_filters in enumerate(filters, start=1):
        blocks += [
            layers.Conv2D(block_filters, 3, padding="same", use_bias=not batch_norm, name=f"conv{index}"),
            layers.MaxPooling2D(2, name=f"pool{index}"),
        ]
        if batch_norm:
            normalization = FusedBatchNormalization if fused else layers.BatchNormalization
            blocks.append(normalization(momentum=0.9, scale=bn_scale, name=f"batchnorm{index}"))
        blocks.append(layers.ReLU(name=f"relu{index}"))
    head: list[keras.layers.Layer] = [layers.Flatten(name="flatten")]
    if dropout[0]:
        head.append(layers.Dropout(dropout[0], name="dropout1"))
    head.append(layers.Dense(dense_units, activation="relu", name="dense"))
    if dropout[1]:
        head.append(layers.Dropout(dropout[1], name="dropout2"))
    head.append(layers.Dense(num_classes, activation="softmax", name="probabilities"))
    return keras.Sequential(
        [keras.Input(shape=INPUT_SHAPE, name="image"), *front, *blocks, *head], name=name
    )


def build_wide_cnn_flips(num_classes: int = 10) -> keras.Model:
    """Build the wide CNN with flipped training images: the fast CNN, twice as wide, flipping.

    Blocks of 32 and 64 filters, a 256-unit dense layer, and a random horizontal flip of
    each training image (see :func:`build_fast_cnn`).

    Parameters
    ----------
    num_classes
        Size of the softmax output.

    Returns
    -------
    keras.Model
        An uncompiled ``Sequential`` model named ``wide_cnn_flips``.
    """
    return build_fast_cnn(num_classes, filters=(32, 64), dense_units=256, augment=True,
                          name="wide_cnn_flips")


def build_best_cnn(num_classes: int = 10) -> keras.Model:
    """Build the book's best model: the wide CNN with flipped and shifted training images.

    The wide CNN of :func:`build_wide_cnn_flips` (blocks of 32 and 64 filters, a 256-unit
    dense layer, a random horizontal flip of each training image) that also shifts each
    training image by up to 2 pixels each way (:class:`~fmnist_helpers.layers.RandomShift`).
    :data:`~fmnist_helpers.recipes.HEADLINE_RECIPE` trains it for 20 epochs.

    Parameters
    ----------
    num_classes
        Size of the softmax output.

    Returns
    -------
    keras.Model
        An uncompiled ``Sequential`` model named ``best_cnn``.
    """
    return build_fast_cnn(num_classes, filters=(32, 64), dense_units=256, augment=True, shift=2,
                          name="best_cnn")


#: The models a training run can name, for papermill parameters and sweeps.
MODELS: dict[str, Callable[[], keras.Model]] = {
    "original_cnn": build_original_cnn,
    "fast_cnn": build_fast_cnn,
    "fast_cnn_plain": lambda: build_fast_cnn(batch_norm=False, name="fast_cnn_plain"),
    "fast_cnn_dropout_0.3": lambda: build_fast_cnn(dropout=(0.3, 0.3), name="fast_cnn_dropout_0.3"),
    "wide_cnn_flips": build_wide_cnn_flips,
    "best_cnn": build_best_cnn,
    "wide_cnn": lambda: build_fast_cnn(filters=(32, 64), dense_units=256, name="wide_cnn"),
    "mlp": build_mlp,
    # Single changes of the fast CNN that the speed appendix measures against it.
    "fast_cnn_keras_bn": lambda: build_fast_cnn(fused=False, name="fast_cnn_keras_bn"),
    "fast_cnn_shift": lambda: build_fast_cnn(shift=2, name="fast_cnn_shift"),
    "fast_cnn_no_bn_scale": lambda: build_fast_cnn(bn_scale=False, name="fast_cnn_no_bn_scale"),
}


def build_model(name: str) -> keras.Model:
    """Build one of :data:`MODELS` by name.

    Parameters
    ----------
    name
        ``"original_cnn"``, ``"fast_cnn"``, ``"fast_cnn_plain"`` (without batch normalization),
        ``"fast_cnn_dropout_0.3"`` (dropout 0.3 instead of 0.1),
        ``"wide_cnn_flips"``, ``"wide_cnn"`` (the same without its flips) or ``"mlp"``.

    Returns
    -------
    keras.Model
        An uncompiled model.

    Raises
    ------
    ValueError
        If ``name`` is unknown.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}")
    return MODELS[name]()


def print_summary(model: keras.Model) -> None:
    """Print ``model.summary()`` as plain text (no HTML, no colours), e.g. for a notebook.

    Parameters
    ----------
    model
        A built model.
    """
    lines: list[str] = []
    model.summary(print_fn=lambda line, **kwargs: lines.append(line))
    print("\n".join(lines))


def _param_formula(layer: keras.layers.Layer) -> str:
    """Spell out how a layer's parameter count comes about."""
    if isinstance(layer, layers.Conv2D):
        rows, cols = layer.kernel_size
        channels = layer.kernel.shape[2]
        bias = " + 1" if layer.use_bias else ""
        return f"({rows}x{cols}x{channels}{bias}) x {layer.filters}"
    if isinstance(layer, layers.Dense):
        bias = " + 1" if layer.use_bias else ""
        return f"({layer.kernel.shape[0]}{bias}) x {layer.units}"
    if isinstance(layer, (layers.BatchNormalization, FusedBatchNormalization)):
        return f"4 x {layer.gamma.shape[0]} (2 trained, 2 running statistics)"
    return ""


def explain_params(model: keras.Model) -> pd.DataFrame:
    """Tabulate each layer's parameters and the formula they come from.

    A convolution has ``rows x cols x input channels`` weights per filter plus one
    bias; a dense layer has one weight per input and unit plus one bias per unit.

    Parameters
    ----------
    model
        A built model.

    Returns
    -------
    pandas.DataFrame
        Columns ``layer``, ``type``, ``output shape``, ``formula``, ``parameters``, one
        row per layer, and a final ``total`` row.
    """
    rows = [
        {
            "layer": layer.name,
            "type": type(layer).__name__,
            "output shape": str(tuple(layer.output.shape)),
            "formula": _param_formula(layer),
            "parameters": layer.count_params(),
        }
        for layer in model.layers
    ]
    rows.append(
        {"layer": "total", "type": "", "output shape": "", "formula": "",
         "parameters": model.count_params()}
    )  # fmt: skip
    return pd.DataFrame(rows).set_index("layer")
