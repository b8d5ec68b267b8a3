"""Tests of fmnist_helpers/evaluation.py."""

import dataclasses

import keras
import numpy as np
import pytest

from fmnist_helpers import (CLASS_NAMES, DEFAULT_RECIPE, build_mlp, build_model, classification_report_table,
                            confusion_matrix_table, load_trained_model, most_confused_pairs,
                            predict_image, predict_with_flips, predictions_table, preprocess_images,
                            seed_everything, top_predictions, train_model)

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


def test_a_trained_model_survives_saving_and_loading(real_data, tmp_path):
    """Chapter 5 saves the model that chapters 6 and 8 load: same predictions, same scores."""
    (x_train, y_train), (x_test, y_test) = real_data
    recipe = dataclasses.replace(DEFAULT_RECIPE, batch_size=64, epochs=2)  # the book's CNN, 32 steps
    history = train_model(recipe, preprocess_images(x_train[:1024]), y_train[:1024], log_epochs=False)
    model = history.model
    model.save(tmp_path / "model.keras")
    reloaded = load_trained_model(tmp_path / "model.keras")
    images = preprocess_images(x_test[:200])
    trained = model.predict(images, verbose=0)
    # Non-trivial predictions: they differ from image to image, and from the untrained model's,
    # so a reload that lost the trained weights (or batch norm's statistics) cannot match them.
    assert (trained.argmax(axis=1) == y_test[:200]).mean() > 0.5, "the few steps taught it something"
    assert len(set(trained.argmax(axis=1))) >= 5
    seed_everything(recipe.seed)
    untrained = build_model(recipe.model_name).predict(images, verbose=0)
    assert np.abs(trained - untrained).max() > 0.1
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), trained, rtol=1e-5, atol=1e-6)
    # Chapter 6 calls evaluate on the loaded model: its compiled loss and metrics came along,
    # and so did the optimizer's state (its step count and Adam's moments).
    np.testing.assert_allclose(reloaded.evaluate(images, y_test[:200], verbose=0),
                               model.evaluate(images, y_test[:200], verbose=0), rtol=1e-5)
    assert int(reloaded.optimizer.iterations) == int(model.optimizer.iterations) == 32
    for ours, theirs in zip(model.optimizer.variables, reloaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_load_trained_model_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no saved model at .*model.keras; run the training chapter"):
        load_trained_model(tmp_path / "model.keras")


def asymmetric_model() -> keras.Model:
    """An MLP with random weights: it tells an image from its mirror image."""
    keras.utils.set_random_seed(0)
    model = build_mlp()
    model.set_weights([np.random.default_rng(index).normal(0, 0.5, weights.shape)
                       for index, weights in enumerate(model.get_weights())])
    return model


def test_predict_with_flips_sees_an_image_and_its_mirror_alike():
    model = asymmetric_model()
    images = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    mirrored = images[:, :, ::-1]  # left and right swapped, as RandomFlip("horizontal") does
    plain = model.predict(images, verbose=0)
    assert np.abs(plain - model.predict(mirrored, verbose=0)).max() > 0.01  # the model alone does not
    averaged = predict_with_flips(model, images)
    assert averaged.shape == (3, 10)
    np.testing.assert_allclose(averaged.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(predict_with_flips(model, mirrored), averaged, rtol=1e-5, atol=1e-7)
    assert np.abs(averaged - plain).max() > 0.005  # it is not the plain prediction
    upside_down = images[:, ::-1]  # a vertical flip is not what it averages over
    assert np.abs(predict_with_flips(model, upside_down) - averaged).max() > 0.005


def test_predict_with_flips_leaves_a_symmetric_image_alone():
    model = asymmetric_model()
    images = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    symmetric = (images + images[:, :, ::-1]) / 2  # its own mirror image: nothing to average
    np.testing.assert_allclose(predict_with_flips(model, symmetric), model.predict(symmetric, verbose=0),
                               rtol=1e-5, atol=1e-7)
