"""The book's models: the seed post's CNN, a small MLP baseline and a fast CNN."""

from __future__ import annotations

import keras
from keras import layers

__all__ = ["INPUT_SHAPE", "build_fast_cnn", "build_mlp", "build_seed_cnn", "count_params"]

#: Height, width and channels of one preprocessed image.
INPUT_SHAPE: tuple[int, int, int] = (28, 28, 1)


def build_seed_cnn(num_classes: int = 10) -> keras.Model:
    """Build the seed post's CNN, layer for layer.

    Conv 128 3x3 relu, max-pool 2, dropout 0.3; conv 64 3x3 relu, max-pool 2,
    dropout 0.3; flatten; dense 512 relu, dropout 0.25; dense softmax.

    Parameters
    ----------
    num_classes
        Size of the softmax output.

    Returns
    -------
    keras.Model
        An uncompiled ``Sequential`` model named ``seed_cnn`` taking ``(28, 28, 1)`` input.
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
        name="seed_cnn",
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
    num_classes: int = 10, filters: tuple[int, int] = (32, 64), dense_units: int = 128
) -> keras.Model:
    """Build a small CNN with batch normalization that learns fast on a CPU.

    Two blocks of conv 3x3 (same padding, no bias) + batch norm + relu + max-pool 2,
    then dropout, dense relu, dropout and the softmax. Batch normalization lets it
    train at a high learning rate; the smaller convolutions make each step cheap.

    Parameters
    ----------
    num_classes
        Size of the softmax output.
    filters
        Filters of the two convolutions.
    dense_units
        Width of the hidden dense layer.

    Returns
    -------
    keras.Model
        An uncompiled ``Sequential`` model named ``fast_cnn`` taking ``(28, 28, 1)`` input.
    """
    blocks: list[keras.layers.Layer] = []
    for index, block_filters in enumerate(filters, start=1):
        blocks += [
            layers.Conv2D(block_filters, 3, padding="same", use_bias=False, name=f"conv{index}"),
            layers.BatchNormalization(name=f"batchnorm{index}"),
            layers.ReLU(name=f"relu{index}"),
            layers.MaxPooling2D(2, name=f"pool{index}"),
        ]
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            *blocks,
            layers.Flatten(name="flatten"),
            layers.Dropout(0.3, name="dropout1"),
            layers.Dense(dense_units, activation="relu", name="dense"),
            layers.Dropout(0.3, name="dropout2"),
            layers.Dense(num_classes, activation="softmax", name="probabilities", dtype="float32"),
        ],
        name="fast_cnn",
    )


def count_params(model: keras.Model) -> dict[str, int]:
    """Count the parameters of each layer that has any.

    Parameters
    ----------
    model
        A built Keras model.

    Returns
    -------
    dict[str, int]
        Layer name to parameter count, in layer order, for layers with parameters.
    """
    return {layer.name: layer.count_params() for layer in model.layers if layer.count_params()}
