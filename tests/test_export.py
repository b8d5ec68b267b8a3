"""Tests of fmnist_helpers/export.py: Keras' ONNX export, its parity with Keras, the committed export.

The committed export must come from the saved model its metadata names: the headline model
(``artifacts/headline_model.keras``, from ``make headline``) or chapter 5's
(``artifacts/model.keras``); the tests that need that model skip where it has not been
trained. ``FMNIST_SAVED_MODEL`` points them at another copy of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import keras
import numpy as np
import onnxruntime
import pytest

from fmnist_helpers import (CLASS_NAMES, DEFAULT_MODEL_PATH, DEFAULT_RECIPE, HEADLINE_MODEL_NAME, load_image,
                            preprocess_images, train_model)
from fmnist_helpers import book_files, export
from fmnist_helpers.book import BOOK_DIR

ROOT = BOOK_DIR.parent
COMMITTED = ROOT / export.EXPORT_PATH
#: The saved model the committed export was made from, as its metadata names it.
SAVED_MODEL = Path(os.environ.get("FMNIST_SAVED_MODEL", DEFAULT_MODEL_PATH.parent / (
    export.read_export_metadata(COMMITTED).get(export.SOURCE_FILE_KEY) or DEFAULT_MODEL_PATH.name)))
#: The parity the issue asks for, on this many test images.
PARITY_IMAGES = 1000
MAX_DIFFERENCE = 1e-4


def tiny_model(seed: int = 0) -> keras.Model:
    """A small, untrained Fashion-MNIST classifier with seeded weights."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


def run_onnx(path: Path, images: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: images})[0]


def parity(model: keras.Model, path: Path, images: np.ndarray) -> tuple[float, int]:
    """Largest absolute difference of the probabilities, and on how many images the top class agrees."""
    expected = model.predict(images, verbose=0)
    actual = run_onnx(path, images)
    return float(np.abs(actual - expected).max()), int((actual.argmax(1) == expected.argmax(1)).sum())


@pytest.fixture(scope="module")
def saved_model() -> keras.Model:
    if not SAVED_MODEL.is_file():
        pytest.skip(f"no saved model at {SAVED_MODEL}, which the committed export was made from; "
                    f"`make headline` saves headline_model.keras, `make book` model.keras")
    return keras.saving.load_model(SAVED_MODEL)


def test_model_digest_is_kept_by_save_and_load(tmp_path):
    model = tiny_model()
    model.save(tmp_path / "model.keras")
    assert export.model_digest(keras.saving.load_model(tmp_path / "model.keras")) == export.model_digest(model)


def test_model_digest_changes_with_any_weight():
    model = tiny_model()
    before = export.model_digest(model)
    kernel = model.layers[-1].kernel
    kernel.assign(kernel.numpy() + np.float32(1e-6))
    assert export.model_digest(model) != before
    assert export.model_digest(tiny_model(seed=1)) != before


def test_export_runs_in_onnxruntime_as_in_keras(tmp_path):
    model = tiny_model()
    path = export.export_onnx(model, tmp_path / "model.onnx")
    images = np.random.default_rng(0).random((32, 28, 28, 1), dtype=np.float32)
    difference, agreeing = parity(model, path, images)
    assert difference < 1e-5 and agreeing == len(images)
    metadata = export.read_export_metadata(path)
    assert metadata[export.SOURCE_DIGEST_KEY] == export.model_digest(model)
    assert json.loads(metadata["class_names"]) == list(CLASS_NAMES)


def test_export_refuses_a_model_that_is_not_a_fashion_mnist_classifier(tmp_path):
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match=r"the model takes \(None, 32, 32, 3\) .* expected \(None, 28, 28, 1\) "
                                         r"and \(None, 10\)\. To fix: export a Fashion-MNIST classifier"):
        export.export_onnx(model, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_an_up_to_date_export_is_left_alone(tmp_path):
    model = tiny_model()
    model.save(tmp_path / "model.keras")
    onnx_path = tmp_path / "out" / "model.onnx"
    assert export.export_saved_model(tmp_path / "model.keras", onnx_path) is True
    written = onnx_path.read_bytes()
    assert export.export_saved_model(tmp_path / "model.keras", onnx_path) is False
    assert onnx_path.read_bytes() == written
    assert export.export_saved_model(tmp_path / "model.keras", onnx_path, force=True) is True
    tiny_model(seed=1).save(tmp_path / "model.keras")  # retrained: the export follows
    assert export.export_saved_model(tmp_path / "model.keras", onnx_path) is True
    assert export.read_export_metadata(onnx_path)[export.SOURCE_DIGEST_KEY] == export.model_digest(tiny_model(seed=1))
    assert [path.name for path in onnx_path.parent.iterdir()] == ["model.onnx"]  # no partial file left


def test_a_model_with_augmentation_layers_exports_without_them(tmp_path):
    from fmnist_helpers import build_best_cnn

    keras.utils.set_random_seed(0)
    model = build_best_cnn()  # RandomFlip and RandomShift: identity when predicting
    images = np.random.default_rng(0).random((16, 28, 28, 1)).astype("float32")
    assert [layer.name for layer in export.inference_model(model).layers][:2] == ["conv1", "pool1"]
    path = export.export_onnx(model, tmp_path / "model.onnx")
    assert np.abs(run_onnx(path, images) - model.predict(images, verbose=0)).max() < MAX_DIFFERENCE
    assert export.read_export_metadata(path)[export.SOURCE_DIGEST_KEY] == export.model_digest(model)


def test_an_export_of_the_headline_model_is_kept_until_forced(tmp_path):
    onnx_path = tmp_path / "model.onnx"
    tiny_model(seed=0).save(tmp_path / HEADLINE_MODEL_NAME)
    tiny_model(seed=1).save(tmp_path / "model.keras")
    assert export.export_saved_model(tmp_path / HEADLINE_MODEL_NAME, onnx_path) is True
    assert export.read_export_metadata(onnx_path)[export.SOURCE_FILE_KEY] == HEADLINE_MODEL_NAME
    assert export.export_saved_model(tmp_path / "model.keras", onnx_path) is False  # kept
    assert export.read_export_metadata(onnx_path)[export.SOURCE_FILE_KEY] == HEADLINE_MODEL_NAME
    assert export.export_saved_model(tmp_path / "model.keras", onnx_path, force=True) is True
    assert export.read_export_metadata(onnx_path)[export.SOURCE_FILE_KEY] == "model.keras"
    assert export.export_saved_model(tmp_path / HEADLINE_MODEL_NAME, onnx_path) is True  # the best wins


def test_command_line_says_why_it_keeps_the_headline_export(tmp_path, capsys):
    onnx_path = tmp_path / "model.onnx"
    tiny_model(seed=0).save(tmp_path / HEADLINE_MODEL_NAME)
    tiny_model(seed=1).save(tmp_path / "model.keras")
    export.main(["--model", str(tmp_path / HEADLINE_MODEL_NAME), "--output", str(onnx_path)])
    capsys.readouterr()
    assert export.main(["--model", str(tmp_path / "model.keras"), "--output", str(onnx_path)]) == 0
    assert capsys.readouterr().out.startswith(f"kept: {onnx_path} holds the headline model")


def test_a_missing_export_is_named_with_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no ONNX export at .*missing\.onnx\. To fix: run `make book`"):
        export.read_export_metadata(tmp_path / "missing.onnx")


def test_command_line_reports_a_missing_model(tmp_path, capsys):
    status = export.main(["--model", str(tmp_path / "none.keras"), "--output", str(tmp_path / "model.onnx")])
    assert status == 1
    assert capsys.readouterr().err.startswith(f"error: no saved model at {tmp_path / 'none.keras'}; run the training")


def test_command_line_exports_then_reports_up_to_date(tmp_path, capsys):
    tiny_model().save(tmp_path / "model.keras")
    arguments = ["--model", str(tmp_path / "model.keras"), "--output", str(tmp_path / "model.onnx")]
    assert export.main(arguments) == 0
    assert export.main(arguments) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"exported: {tmp_path / 'model.onnx'} (from {tmp_path / 'model.keras'})",
        f"up to date: {tmp_path / 'model.onnx'} (from {tmp_path / 'model.keras'})",
    ]


def test_the_committed_export_is_a_book_file_in_the_manifest():
    assert export.EXPORT_PATH in book_files.BOOK_FILES
    manifest = json.loads((ROOT / book_files.MANIFEST).read_text())
    assert manifest[export.EXPORT_PATH] == hashlib.sha256(COMMITTED.read_bytes()).hexdigest()


def test_the_committed_export_classifies_the_example_image():
    metadata = export.read_export_metadata(COMMITTED)
    assert json.loads(metadata["class_names"]) == list(CLASS_NAMES)
    assert len(metadata[export.SOURCE_DIGEST_KEY]) == 64
    session = onnxruntime.InferenceSession(str(COMMITTED), providers=["CPUExecutionProvider"])
    (model_input,), (model_output,) = session.get_inputs(), session.get_outputs()
    assert model_input.shape[1:] == [28, 28, 1] and model_input.type == "tensor(float)"
    assert model_output.shape[1:] == [len(CLASS_NAMES)]
    image = load_image(BOOK_DIR / "images" / "test_image_0.png")
    probabilities = run_onnx(COMMITTED, preprocess_images(image[np.newaxis]))[0]
    assert probabilities.sum() == pytest.approx(1, abs=1e-5)
    assert CLASS_NAMES[int(probabilities.argmax())] == "Ankle boot"  # Fashion-MNIST's label of test image 0


def test_the_committed_export_is_of_the_saved_model(saved_model):
    recorded = export.read_export_metadata(COMMITTED)[export.SOURCE_DIGEST_KEY]
    assert recorded == export.model_digest(saved_model), (
        f"{export.EXPORT_PATH} was exported from other weights than {SAVED_MODEL}. To fix: run "
        f"`python -m fmnist_helpers.export` (make book does) and commit {export.EXPORT_PATH} "
        f"and {book_files.MANIFEST}")


def test_the_committed_export_matches_keras_on_1000_test_images(saved_model, real_data):
    _, (x_test, _) = real_data
    difference, agreeing = parity(saved_model, COMMITTED, preprocess_images(x_test[:PARITY_IMAGES]))
    print(f"committed export vs Keras on {PARITY_IMAGES} test images: largest difference "
          f"{difference:.2e}, top class agrees on {agreeing}")
    assert difference < MAX_DIFFERENCE
    assert agreeing == PARITY_IMAGES


@pytest.mark.slow
def test_a_trained_model_exports_with_parity_on_1000_test_images(tmp_path, real_data):
    # Chapter 5's recipe for one epoch: the book's own architecture, trained, on a clean clone.
    (x_train, y_train), (x_test, _) = real_data
    recipe = dataclasses.replace(DEFAULT_RECIPE, epochs=1)
    model = train_model(recipe, preprocess_images(x_train), y_train, log_epochs=False).model
    path = export.export_onnx(model, tmp_path / "model.onnx")
    difference, agreeing = parity(model, path, preprocess_images(x_test[:PARITY_IMAGES]))
    print(f"fresh export vs Keras on {PARITY_IMAGES} test images: largest difference "
          f"{difference:.2e}, top class agrees on {agreeing}")
    assert difference < MAX_DIFFERENCE
    assert agreeing == PARITY_IMAGES
