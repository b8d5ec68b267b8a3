"""Use the in-browser page (book/8_in_the_browser.md) of the built site in headless Chromium.

The page runs the committed ONNX export in ONNX Runtime Web; these tests upload the book's
example files, draw on its canvas, and compare what it shows with Python's answers. The
site is served on localhost, as in test_site_browser.py, whose server and browser set-up
they share.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import onnxruntime
import pytest
from PIL import Image

from fmnist_helpers import CLASS_NAMES, load_image, prepare_photo, preprocess_images
from fmnist_helpers.book import BOOK_DIR
from fmnist_helpers.export import EXPORT_PATH, SOURCE_DIGEST_KEY, read_export_metadata

from .site_build import ROOT
from .test_export import SAVED_MODEL
# server and browser: the built site on a local server and headless Chromium, the same
# fixtures as the other browser tests (imported, so that pytest registers them here too).
from .test_site_browser import HOST, SCREENSHOTS, browser, is_ignorable, server  # noqa: F401

pytestmark = pytest.mark.slow

PAGE = "book/8_in_the_browser.html"
TEST_IMAGE = BOOK_DIR / "images" / "test_image_0.png"
PHOTO = BOOK_DIR / "images" / "example_photo.png"
#: How close the page's probabilities must be to Python's.
TOLERANCE = 1e-3


class Visit:
    """The page, loaded with its model, and what it asked for and complained about."""

    def __init__(self, chromium: Any, server: str) -> None:
        self.context = chromium.new_context(viewport={"width": 1280, "height": 1000})
        self.context.set_default_timeout(60_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        response = self.page.goto(server + PAGE, wait_until="load")
        assert response is not None and response.status == 200, f"{PAGE}: {response and response.status}"
        self.page.wait_for_selector("#fm-try[data-ready]")
        ready = self.page.get_attribute("#fm-try", "data-ready")
        assert ready == "true", f"the model did not load: {self.status()} {self.errors}"

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            url = message.location.get("url", "")
            if not is_ignorable(message.text, url):
                self.errors.append(f"console error: {message.text} ({url})")

    def status(self) -> str:
        return self.page.inner_text("#fm-status")

    def answer(self, source: str) -> tuple[str, float]:
        """Wait until the page says it classified ``source``; return the top class and probability shown."""
        self.page.wait_for_function(
            "source => document.querySelector('#fm-status').textContent.startsWith(`Classified ${source}`)",
            arg=source)
        assert "fm-error" not in (self.page.get_attribute("#fm-status", "class") or ""), self.status()
        text = self.page.inner_text("#fm-answer")  # "Most likely: Ankle boot, 99.62%."
        name, _, percent = text.removeprefix("Most likely: ").rstrip(".").rpartition(", ")
        return name, float(percent.rstrip("%")) / 100

    def probabilities(self) -> list[float]:
        return [float(value) for value in self.page.eval_on_selector_all(
            "#fm-probabilities tbody tr", "rows => rows.map(row => row.dataset.probability)")]

    def model_input(self) -> np.ndarray:
        """The 28x28 image the page shows as the model's input."""
        rgba = self.page.evaluate(
            "() => Array.from(document.querySelector('#fm-input').getContext('2d')"
            ".getImageData(0, 0, 28, 28).data)")
        return np.array(rgba, dtype=np.uint8).reshape(28, 28, 4)[..., 0]

    def upload(self, path: Path) -> None:
        self.page.set_input_files("#fm-upload", str(path))


@pytest.fixture
def visit(browser: Any, server: str) -> Iterator[Visit]:
    loaded = Visit(browser, server)
    yield loaded
    loaded.context.close()


def python_probabilities(image: np.ndarray) -> np.ndarray:
    """The committed export's probabilities for one raw 28x28 image, in Python's onnxruntime."""
    session = onnxruntime.InferenceSession(str(ROOT / EXPORT_PATH), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: preprocess_images(image[np.newaxis])})[0][0]


def test_the_page_loads_its_model_and_runtime_from_the_site_alone(visit, server):
    assert not visit.errors, "\n".join(visit.errors)
    assert all(urlparse(url).hostname == HOST for url in visit.requests if not url.startswith("data:")), (
        [url for url in visit.requests if urlparse(url).hostname != HOST])
    served = {urlparse(url).path for url in visit.requests}
    for name in ["model.onnx", "ort/ort.wasm.min.js", "ort/ort-wasm-simd-threaded.mjs",
                 "ort/ort-wasm-simd-threaded.wasm"]:
        assert f"/_static/in-browser/{name}" in served, name


def test_only_the_in_browser_page_loads_the_runtime(site):
    pages = [path for path in site.rglob("*.html") if "_static" not in path.parts]
    loading = sorted(str(path.relative_to(site)) for path in pages if "ort.wasm.min.js" in path.read_text())
    assert loading == [PAGE]


def test_the_page_states_the_hashes_of_the_model_it_runs(visit, site):
    text = visit.page.inner_text("article")
    committed = ROOT / EXPORT_PATH
    served = site / "_static" / "in-browser" / "model.onnx"
    assert served.read_bytes() == committed.read_bytes()
    assert hashlib.sha256(committed.read_bytes()).hexdigest() in text
    assert visit.page.get_attribute("#fm-try", "data-model-sha256") == hashlib.sha256(committed.read_bytes()).hexdigest()
    recorded = read_export_metadata(committed)[SOURCE_DIGEST_KEY]
    assert recorded in text
    if SAVED_MODEL.is_file():  # the export is of the model that make book saved
        import keras

        from fmnist_helpers.export import model_digest

        assert model_digest(keras.saving.load_model(SAVED_MODEL)) == recorded, (
            f"the page runs an export of other weights than {SAVED_MODEL}; run `python -m "
            f"fmnist_helpers.export` (make book does) and rebuild the site")


def test_uploading_test_image_0_gives_pythons_answer(visit):
    visit.upload(TEST_IMAGE)
    name, probability = visit.answer("“test_image_0.png” (28x28, used as it is)")
    image = load_image(TEST_IMAGE)
    assert np.array_equal(visit.model_input(), image)
    expected = python_probabilities(image)
    assert name == CLASS_NAMES[int(expected.argmax())]
    assert abs(probability - float(expected.max())) < TOLERANCE
    assert np.abs(np.array(visit.probabilities()) - expected).max() < TOLERANCE
    print(f"{TEST_IMAGE.name}: the page shows {name} {probability:.4f}; Python's onnxruntime "
          f"{CLASS_NAMES[int(expected.argmax())]} {expected.max():.6f}")
    if SAVED_MODEL.is_file():  # and the answer of `python -m fmnist_helpers predict --model ...`
        from fmnist_helpers import predict_file

        [(keras_name, keras_probability)] = predict_file(TEST_IMAGE, SAVED_MODEL, top=1)
        assert (name, pytest.approx(keras_probability, abs=TOLERANCE)) == (keras_name, probability)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=SCREENSHOTS / "8_in_the_browser_test_image_0.png", full_page=True)
    assert not visit.errors, "\n".join(visit.errors)


def test_a_photo_goes_through_the_steps_of_prepare_photo(visit):
    visit.upload(PHOTO)
    name, probability = visit.answer("“example_photo.png” (320x240, prepared as a photo)")
    with Image.open(PHOTO) as photo:
        expected_input = prepare_photo(photo)
    difference = np.abs(visit.model_input().astype(int) - expected_input.astype(int))
    print(f"the page's input for {PHOTO.name}: {np.count_nonzero(difference)} of 784 pixels differ "
          f"from prepare_photo's, by at most {difference.max()}")
    assert difference.max() <= 1, f"{np.count_nonzero(difference)} pixels differ, by up to {difference.max()}"
    expected = python_probabilities(expected_input)
    assert name == CLASS_NAMES[int(expected.argmax())]
    assert abs(probability - float(expected.max())) < TOLERANCE
    assert not visit.errors, "\n".join(visit.errors)


def test_drawing_on_the_canvas_gives_ten_probabilities_that_sum_to_1(visit):
    box = visit.page.locator("#fm-canvas").bounding_box()
    left, top = box["x"], box["y"]
    mouse = visit.page.mouse
    # A T-shirt's outline: shoulders, sleeves, body.
    mouse.move(left + 80, top + 60)
    mouse.down()
    for x, y in [(200, 60), (250, 110), (215, 130), (210, 240), (90, 240), (85, 130), (30, 110), (80, 60)]:
        mouse.move(left + x, top + y, steps=8)
    mouse.up()
    name, _ = visit.answer("your drawing")
    probabilities = visit.probabilities()
    assert len(probabilities) == len(CLASS_NAMES) and name in CLASS_NAMES
    assert all(0 <= value <= 1 for value in probabilities)
    assert sum(probabilities) == pytest.approx(1, abs=1e-5)
    assert visit.model_input().max() > 200  # the strokes reached the model's input
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit.page.locator("#fm-try").screenshot(path=SCREENSHOTS / "8_in_the_browser_drawing.png")
    assert not visit.errors, "\n".join(visit.errors)


def test_the_keyboard_draws_and_chooses_examples(visit):
    visit.page.focus("#fm-canvas")
    for key in ["ArrowUp"] * 6 + ["ArrowRight"] * 4 + ["ArrowDown"] * 12:
        visit.page.keyboard.press(key)
    drawn, _ = visit.answer("your drawing")
    assert drawn in CLASS_NAMES
    assert sum(visit.probabilities()) == pytest.approx(1, abs=1e-5)
    button = visit.page.get_by_role("button", name="Try test image 0")
    button.focus()
    visit.page.keyboard.press("Enter")
    name, probability = visit.answer("“test_image_0.png”")
    expected = python_probabilities(load_image(TEST_IMAGE))
    assert (name, pytest.approx(float(expected.max()), abs=TOLERANCE)) == (CLASS_NAMES[int(expected.argmax())], probability)
    assert not visit.errors, "\n".join(visit.errors)


def test_a_file_that_is_not_an_image_gets_a_readable_message(visit):
    visit.page.set_input_files("#fm-upload", files=[
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a picture\n"}])
    visit.page.wait_for_selector("#fm-status.fm-error")
    message = visit.status()
    assert message.startswith("“notes.txt” is not an image this browser can read. Choose a PNG or JPEG"), message
    assert visit.page.inner_text("#fm-answer") == ""
    assert not visit.errors, "\n".join(visit.errors)


def test_the_class_names_are_the_packages(visit):
    names = visit.page.eval_on_selector_all("#fm-probabilities tbody th", "cells => cells.map(c => c.textContent)")
    assert names == list(CLASS_NAMES)
    assert json.loads(visit.page.get_attribute("#fm-try", "data-class-names")) == list(CLASS_NAMES)


def test_a_photo_without_an_object_gets_prepare_photos_message(visit, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (64, 48), (250, 250, 250)).save(blank)
    with pytest.raises(ValueError, match="no object found"):  # what Python says of the same photo
        prepare_photo(Image.open(blank))
    visit.upload(blank)
    visit.page.wait_for_selector("#fm-status.fm-error")
    assert visit.status().startswith("No object found in “blank.png”: every pixel is within 40 of white."), visit.status()
    assert not visit.errors, "\n".join(visit.errors)
