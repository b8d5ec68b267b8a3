"""Turn raw uint8 images and integer labels into what a Keras model trains on."""

from __future__ import annotations

import numpy as np

__all__ = ["add_channel_axis", "one_hot", "preprocess_images", "scale_pixels", "split_validation"]


def add_channel_axis(images: np.ndarray) -> np.ndarray:
    """Add a trailing channel axis: ``(n, 28, 28)`` becomes ``(n, 28, 28, 1)``.

    Parameters
    ----------
    images
        A batch of grayscale images, shape ``(n, height, width)``.

    Returns
    -------
    numpy.ndarray
        The same values, shape ``(n, height, width, 1)`` (channels last, as Keras expects).

    Raises
    ------
    ValueError
        If ``images`` is not three-dimensional.
    """
    if images.ndim != 3:
        raise ValueError(
            f"expected a batch of grayscale images of shape (n, height, width), "
            f"got an array of shape {images.shape}"
        )
    return images[..., np.newaxis]


def scale_pixels(images: np.ndarray) -> np.ndarray:
    """Scale uint8 pixel values from [0, 255] to float32 values in [0, 1].

    Parameters
    ----------
    images
        uint8 pixel values.

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape.

    Raises
    ------
    TypeError
        If ``images`` is not uint8 (scaling twice is a common, silent bug).
    """
    if images.dtype != np.uint8:
        raise TypeError(
            f"expected uint8 pixels in [0, 255], got dtype {images.dtype}; "
            f"are these images already scaled?"
        )
    return images.astype(np.float32) / np.float32(255)


def preprocess_images(images: np.ndarray) -> np.ndarray:
    """Add the channel axis and scale to [0, 1]: raw ``load_data`` images to model input.

    Parameters
    ----------
    images
        uint8 images, shape ``(n, 28, 28)``.

    Returns
    -------
    numpy.ndarray
        float32 array, shape ``(n, 28, 28, 1)``, values in [0, 1].
    """
    return scale_pixels(add_channel_axis(images))


def one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """One-hot encode integer labels, as ``keras.utils.to_categorical`` does.

    Parameters
    ----------
    labels
        Integer class labels, shape ``(n,)``.
    num_classes
        Number of classes.

    Returns
    -------
    numpy.ndarray
        float32 array of shape ``(n, num_classes)`` with a single 1 per row.

    Raises
    ------
    ValueError
        If a label is outside ``[0, num_classes)``.
    """
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}), got values from "
            f"{labels.min()} to {labels.max()}"
        )
    return np.eye(num_classes, dtype=np.float32)[labels]


def split_validation(
    x: np.ndarray, y: np.ndarray, validation_size: int | float = 0.1, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split off a seeded, stratified validation set.

    Stratified means each class keeps its share in both parts, which
    scikit-learn's ``train_test_split`` does for us.

    Parameters
    ----------
    x, y
        Images and labels with the same first dimension.
    validation_size
        A fraction of the data (float in (0, 1)) or a number of examples (int).
    seed
        Seed of the shuffle: the same seed gives the same split.

    Returns
    -------
    tuple
        ``(x_train, y_train), (x_val, y_val)``.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` differ in length.
    """
    from sklearn.model_selection import train_test_split

    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}; expected the same number")
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=validation_size, random_state=seed, stratify=y
    )
    return (x_train, y_train), (x_val, y_val)
