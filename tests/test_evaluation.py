"""Tests of fmnist_helpers/evaluation.py."""

import keras
import numpy as np
import pytest

from fmnist_helpers import (CLASS_NAMES, build_mlp, classification_report_table,
                            confusion_matrix_table, load_trained_model, most_confused_pairs,
                            predict_image, predict_with_flips, predictions_table, top_predictions)

Y_TRUE = np.array([0, 0, 0, 6, 6, 6, 1, 2])
Y_PRED = np.array([0, 6, 6, 0, 6, 6, 1, 4])


def test_confusion_matrix_table_labels_and_counts():
    table = confusion_matrix_table(Y_TRUE, Y_PRED)
    assert table.shape == (10, 10)
    assert table.index.name == "Actual" and table.columns.name == "Predicted"
    assert list(table.index) == list(CLASS_NAMES)
    assert table.loc["T-shirt/top", "Shirt"] == 2 and table.loc["Shirt", "T-shirt/top"] == 1
    assert table.to_numpy().sum() == len(Y_TRUE)


def test_confusion_matrix_table_normalized_rows():
    table = confusion_matrix_table(Y_TRUE, Y_PRED, normalize=True)
    assert table.loc["T-shirt/top", "Shirt"] == pytest.approx(2 / 3)
    present = table.sum(axis=1)[table.sum(axis=1) > 0]
    np.testing.assert_allclose(present, 1.0)


def test_classification_report_table():
    table = classification_report_table(Y_TRUE, Y_PRED)
    assert table.loc["T-shirt/top", "precision"] == pytest.approx(1 / 2)
    assert table.loc["T-shirt/top", "recall"] == pytest.approx(1 / 3)
    assert table.loc["Trouser", "f1-score"] == 1.0
    assert table.loc["Shirt", "support"] == 3
    assert {"macro avg", "weighted avg"} <= set(table.index)


def test_most_confused_pairs_order():
    pairs = most_confused_pairs(Y_TRUE, Y_PRED, top=3)
    assert pairs.to_dict("records") == [
        {"actual": "T-shirt/top", "predicted": "Shirt", "count": 2},
        {"actual": "Pullover", "predicted": "Coat", "count": 1},
        {"actual": "Shirt", "predicted": "T-shirt/top", "count": 1},
    ]


def test_predictions_table():
    table = predictions_table(Y_TRUE[:3], Y_PRED[:3])
    assert table["correct"].tolist() == [True, False, False]
    assert table["predicted name"].tolist() == ["T-shirt/top", "Shirt", "Shirt"]


def test_top_predictions():
    probabilities = np.array([0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7, 0.0, 0.2, 0.0])
    assert top_predictions(probabilities, k=2) == [("Shirt", 0.7), ("Bag", 0.2)]


def test_predict_image_preprocesses_like_training():
    keras.utils.set_random_seed(0)
    model = build_mlp()
    image = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    expected = model.predict((image / 255.0).astype("float32")[None, ..., None], verbose=0)[0]
    np.testing.assert_allclose(predict_image(model, image), expected, rtol=1e-6)


def test_predict_image_rejects_batches():
    with pytest.raises(ValueError, match=r"expected one 28x28 image, got an array of shape \(2, 28, 28\)"):
        predict_image(build_mlp(), np.zeros((2, 28, 28), dtype=np.uint8))


def test_saved_model_round_trip(tmp_path):
    model = build_mlp()
    model.save(tmp_path / "model.keras")
    reloaded = load_trained_model(tmp_path / "model.keras")
    x = np.zeros((1, 28, 28, 1), dtype="float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), reloaded.predict(x, verbose=0))


def test_load_trained_model_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no saved model at .*model.keras; run the training chapter"):
        load_trained_model(tmp_path / "model.keras")


def test_predict_with_flips_averages_an_image_and_its_mirror():
    model = build_mlp()
    images = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    expected = (model.predict(images, verbose=0) + model.predict(images[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(predict_with_flips(model, images), expected, rtol=1e-6)
    symmetric = (images + images[:, :, ::-1]) / 2  # its own mirror image: nothing to average
    np.testing.assert_allclose(predict_with_flips(model, symmetric), model.predict(symmetric, verbose=0),
                               rtol=1e-5)
