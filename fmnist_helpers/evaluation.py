"""Measure a trained classifier: predictions, confusion matrices, per-class scores."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, confusion_matrix

from .data import CLASS_NAMES
from .preprocessing import preprocess_images

__all__ = [
    "classification_report_table",
    "confusion_matrix_table",
    "load_trained_model",
    "most_confused_pairs",
    "predict_image",
    "predict_with_flips",
    "predictions_table",
    "top_predictions",
]


def load_trained_model(path: str | os.PathLike[str]) -> keras.Model:
    """Load a model saved with ``model.save(path)``, with a clear error when it is missing.

    Parameters
    ----------
    path
        A ``.keras`` file.

    Returns
    -------
    keras.Model

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``, with a hint to run the training chapter.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no saved model at {path}; run the training chapter (5_train) or "
            f"`make book` to train and save one"
        )
    return keras.saving.load_model(path)


def predict_image(model: keras.Model, image: np.ndarray) -> np.ndarray:
    """Return the class probabilities of one raw 28x28 uint8 image.

    The image goes through the same preprocessing as the training data.

    Parameters
    ----------
    model
        A trained classifier.
    image
        uint8 array of shape ``(28, 28)``.

    Returns
    -------
    numpy.ndarray
        ``num_classes`` probabilities summing to 1.

    Raises
    ------
    ValueError
        If ``image`` is not a single 28x28 image.
    """
    if image.shape != (28, 28):
        raise ValueError(
            f"expected one 28x28 image, got an array of shape {image.shape}")
    return model.predict(preprocess_images(image[np.newaxis]), verbose=0)[0]


def predict_with_flips(model: keras.Model, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Predict with test-time augmentation: average each image's and its mirror image's probabilities.

    A model trained on horizontally flipped images sees a garment and its mirror image as
    the same thing; averaging both predictions smooths out some of its mistakes, at twice
    the cost of one prediction.

    Parameters
    ----------
    model
        A trained classifier.
    x
        Preprocessed images, shape ``(n, 28, 28, 1)``.
    batch_size
        As in ``model.predict``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, num_classes)``; each row sums to 1.
    """
    plain = model.predict(x, batch_size=batch_size, verbose=0)
    mirrored = model.predict(x[:, :, ::-1], batch_size=batch_size, verbose=0)
    return (plain + mirrored) / 2


def top_predictions(
    probabilities: np.ndarray, k: int = 3, class_names: Sequence[str] = CLASS_NAMES
) -> list[tuple[str, float]]:
    """Return the ``k`` most likely classes with their probabilities, most likely first.

    Parameters
    ----------
    probabilities
        One probability per class.
    k
        How many classes to return.
    class_names
        Names in label order.

    Returns
    -------
    list of (str, float)
    """
    order = np.argsort(probabilities)[::-1][:k]
    return [(class_names[index], float(probabilities[index])) for index in order]


def predictions_table(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> pd.DataFrame:
    """Tabulate true and predicted labels side by side, with names and a match column.

    Parameters
    ----------
    y_true, y_pred
        Integer labels.
    class_names
        Names in label order.

    Returns
    -------
    pandas.DataFrame
        Columns ``true``, ``predicted``, ``true name``, ``predicted name``, ``correct``.
    """
    names = np.asarray(class_names)
    return pd.DataFrame(
        {
            "true": y_true,
            "predicted": y_pred,
            "true name": names[y_true],
            "predicted name": names[y_pred],
            "correct": np.asarray(y_true) == np.asarray(y_pred),
        }
    )


def confusion_matrix_table(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str] = CLASS_NAMES,
    normalize: bool = False,
) -> pd.DataFrame:
    """Return the confusion matrix as a table labelled with class names.

    Parameters
    ----------
    y_true, y_pred
        Integer labels.
    class_names
        Names in label order.
    normalize
        Divide each row by its total, so each cell is the share of that true class.

    Returns
    -------
    pandas.DataFrame
        Rows are the actual class (index name ``Actual``), columns the predicted class
        (``Predicted``).
    """
    matrix = confusion_matrix(
        y_true, y_pred, labels=range(len(class_names)), normalize="true" if normalize else None
    )
    return pd.DataFrame(
        matrix,
        index=pd.Index(class_names, name="Actual"),
        columns=pd.Index(class_names, name="Predicted"),
    )


def classification_report_table(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> pd.DataFrame:
    """Return scikit-learn's per-class precision, recall, F1 and support as a table.

    Parameters
    ----------
    y_true, y_pred
        Integer labels.
    class_names
        Names in label order.

    Returns
    -------
    pandas.DataFrame
        One row per class plus ``macro avg`` and ``weighted avg``.
    """
    report = classification_report(
        y_true,
        y_pred,
        labels=range(len(class_names)),
        target_names=list(class_names),
        output_dict=True,
        zero_division=0,
    )
    report.pop("accuracy", None)
    table = pd.DataFrame(report).T
    table["support"] = table["support"].astype(int)
    return table


def most_confused_pairs(
    y_true: np.ndarray, y_pred: np.ndarray, top: int = 5, class_names: Sequence[str] = CLASS_NAMES
) -> pd.DataFrame:
    """Return the most frequent mistakes: (actual, predicted) pairs by count.

    Parameters
    ----------
    y_true, y_pred
        Integer labels.
    top
        How many pairs to return.
    class_names
        Names in label order.

    Returns
    -------
    pandas.DataFrame
        Columns ``actual``, ``predicted`` (names) and ``count``, largest count first;
        ties are broken by label order.
    """
    table = confusion_matrix_table(y_true, y_pred, class_names)
    pairs = table.stack().rename("count").reset_index()
    pairs.columns = ["actual", "predicted", "count"]
    mistakes = pairs[(pairs["actual"] != pairs["predicted"]) & (pairs["count"] > 0)]
    return mistakes.sort_values("count", ascending=False, kind="stable").head(top).reset_index(drop=True)
