"""Tests of book/_ext/in_browser.py, the Sphinx extension that fills in and copies the in-browser page's files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from types import SimpleNamespace

from fmnist_helpers import CLASS_NAMES, HEADLINE_MODEL_NAME
from fmnist_helpers.book import BOOK_DIR
from fmnist_helpers.export import EXPORT_PATH, SOURCE_DIGEST_KEY, read_export_metadata

ROOT = BOOK_DIR.parent
_spec = importlib.util.spec_from_file_location("in_browser", BOOK_DIR / "_ext" / "in_browser.py")
in_browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(in_browser)


def test_every_file_of_the_page_is_in_this_checkout():
    sources = in_browser._sources(ROOT)
    assert sorted(sources) == sorted([
        "page.js", "page.css", "model.onnx", "test_image_0.png", "example_photo.png",
        "ort/ort.wasm.min.js", "ort/ort-wasm-simd-threaded.mjs", "ort/ort-wasm-simd-threaded.wasm"])
    assert sources["model.onnx"] == ROOT / EXPORT_PATH
    missing = [str(path) for path in sources.values() if not path.is_file()]
    assert not missing, f"missing: {missing}; `npm ci` installs onnxruntime-web"


def test_the_placeholders_are_filled_from_the_committed_export():
    source = ["@MODEL_SHA256@ @SOURCE_DIGEST@ @MODEL_BYTES@ @ORT_VERSION@ @CLASS_NAMES@"]
    dependencies = []
    app = SimpleNamespace(srcdir=str(ROOT), env=SimpleNamespace(note_dependency=dependencies.append))
    in_browser.fill_placeholders(app, in_browser.PAGE, source)
    # Sphinx reads the page again when the export or the runtime changes, not only its text.
    assert str(ROOT / EXPORT_PATH) in dependencies
    model = ROOT / EXPORT_PATH
    lock = json.loads((ROOT / "package-lock.json").read_text())
    digest, source_digest, size, version, names = source[0].split(" ", 4)
    assert digest == hashlib.sha256(model.read_bytes()).hexdigest()
    assert source_digest == read_export_metadata(model)[SOURCE_DIGEST_KEY]
    assert size == f"{model.stat().st_size:,}"
    assert version == lock["packages"]["node_modules/onnxruntime-web"]["version"]
    assert json.loads(names) == list(CLASS_NAMES)


def test_the_page_names_the_model_the_export_came_from():
    source = ["@MODEL_SOURCE@"]
    in_browser.fill_placeholders(SimpleNamespace(srcdir=str(ROOT), env=SimpleNamespace(
        note_dependency=lambda path: None)), in_browser.PAGE, source)
    recorded = read_export_metadata(ROOT / EXPORT_PATH).get("keras_model_file", "model.keras")
    assert source == [in_browser.MODEL_SOURCES[recorded]]
    assert set(in_browser.MODEL_SOURCES) == {HEADLINE_MODEL_NAME, "model.keras"}


def test_other_pages_are_left_alone():
    source = ["@MODEL_SHA256@"]
    in_browser.fill_placeholders(SimpleNamespace(srcdir=str(ROOT)), "book/8_use_the_model", source)
    assert source == ["@MODEL_SHA256@"]


def test_a_missing_file_is_a_warning_that_names_the_fix(tmp_path, caplog):
    (tmp_path / "book" / "data").mkdir(parents=True)
    with caplog.at_level(logging.WARNING):
        in_browser.check_sources(SimpleNamespace(srcdir=str(tmp_path)))
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith(f"in_browser: {tmp_path}/node_modules/onnxruntime-web/dist/ort.wasm.min.js "
                                  f"is missing, so the site would lack _static/in-browser/ort/ort.wasm.min.js "
                                  f"for book/8_in_the_browser. To fix: run `npm ci`") for message in messages), messages
    assert any(message.endswith("To fix: run `make book`, or `python -m fmnist_helpers.export` after training "
                                "chapter 5") for message in messages), messages
    assert len(messages) == len(in_browser._sources(tmp_path))
