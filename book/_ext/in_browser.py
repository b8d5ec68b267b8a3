"""Sphinx extension: the files of the in-browser page, copied into the site by its build.

Jupyter Book loads it through ``sphinx.local_extensions`` in ``_config.yml``. The page
``book/8_in_the_browser.md`` runs the book's model with ONNX Runtime Web; this extension

- fills the page's placeholders (``@MODEL_SHA256@`` and the like) with the SHA-256 of the
  committed export ``book/data/model.onnx``, the digest of the Keras weights it was exported
  from (its ONNX metadata), its size, and the version of ``onnxruntime-web``;
- copies into ``_static/in-browser/`` of the built site: the page's script and style
  (``book/in_browser/``), the export, the two example images, and the three files of
  ``onnxruntime-web``'s WebAssembly build from ``node_modules/`` (installed from npm by
  ``npm ci``, pinned in ``package-lock.json``). Nothing is fetched from a CDN, and only this
  page references them, so no other page loads the WebAssembly.

A missing file is a warning (an error under ``-W``) that says which command makes it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The page, as a Sphinx document name.
PAGE = "book/8_in_the_browser"
#: Where its files land in the built site.
TARGET = "_static/in-browser"
#: ONNX Runtime Web's files for the WebAssembly backend: the API (a classic script defining
#: ``ort``), the Emscripten module it imports, and the WebAssembly binary.
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


def _sources(root: Path) -> dict[str, Path]:
    """Each file of the page: its path under ``TARGET`` and its source in the repository."""
    dist = root / "node_modules" / "onnxruntime-web" / "dist"
    return {
        "page.js": root / "book" / "in_browser" / "page.js",
        "page.css": root / "book" / "in_browser" / "page.css",
        "model.onnx": root / "book" / "data" / "model.onnx",
        "test_image_0.png": root / "book" / "images" / "test_image_0.png",
        "example_photo.png": root / "book" / "images" / "example_photo.png",
        **{f"ort/{name}": dist / name for name in ORT_FILES},
    }


def _fix(source: Path) -> str:
    if "node_modules" in source.parts:
        return "run `npm ci` (make site does) to install onnxruntime-web from package-lock.json"
    if source.suffix == ".onnx":
        return "run `make book`, or `python -m fmnist_helpers.export` after training chapter 5"
    return "restore it from git"


#: What the page says about the model, by the file name the export records it came from.
MODEL_SOURCES = {
    "headline_model.keras": "the book's best model: the wide CNN trained for 20 epochs on "
                            "flipped and shifted images ([chapter 7](7_experiments.ipynb) "
                            "reports its accuracy), saved by `make headline` as "
                            "`artifacts/headline_model.keras`",
    "model.keras": "chapter 5's fast CNN, the file chapters 6 and 8 load (`artifacts/model.keras`)",
}


def _replacements(root: Path) -> dict[str, str]:
    model = root / "book" / "data" / "model.onnx"
    replacements = {"@MODEL_SHA256@": "missing", "@SOURCE_DIGEST@": "missing", "@MODEL_BYTES@": "0",
                    "@ORT_VERSION@": "missing", "@CLASS_NAMES@": "[]", "@MODEL_SOURCE@": "missing"}
    if model.is_file():
        import onnx  # pinned in requirements.txt with the export's other packages

        metadata = {entry.key: entry.value
                    for entry in onnx.load(str(model), load_external_data=False).metadata_props}
        replacements["@MODEL_SHA256@"] = hashlib.sha256(model.read_bytes()).hexdigest()
        replacements["@SOURCE_DIGEST@"] = metadata.get("keras_weights_sha256", "missing")
        replacements["@MODEL_BYTES@"] = f"{model.stat().st_size:,}"
        replacements["@CLASS_NAMES@"] = json.dumps(json.loads(metadata.get("class_names", "[]")))
        replacements["@MODEL_SOURCE@"] = MODEL_SOURCES.get(metadata.get("keras_model_file", "model.keras"),
                                                           "missing")
    package = root / "node_modules" / "onnxruntime-web" / "package.json"
    if package.is_file():
        replacements["@ORT_VERSION@"] = json.loads(package.read_text())["version"]
    return replacements


def check_sources(app: Sphinx) -> None:
    """Warn, before anything is built, about each of the page's files that is missing."""
    for name, source in _sources(Path(app.srcdir)).items():
        if not source.is_file():
            logger.warning(f"in_browser: {source} is missing, so the site would lack {TARGET}/{name} "
                           f"for {PAGE}. To fix: {_fix(source)}")


def fill_placeholders(app: Sphinx, docname: str, source: list[str]) -> None:
    """Put the model's digests, size and runtime version into the page's text."""
    if docname != PAGE:
        return
    root = Path(app.srcdir)
    for dependency in (root / "book" / "data" / "model.onnx", root / "node_modules" / "onnxruntime-web" / "package.json"):
        app.env.note_dependency(str(dependency))  # a new export or runtime re-reads the page
    text = source[0]
    for placeholder, value in _replacements(root).items():
        text = text.replace(placeholder, value)
    source[0] = text


def copy_files(app: Sphinx, exception: Exception | None) -> None:
    """Copy the page's files into ``_static/in-browser/`` of the built HTML site."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / TARGET
    for name, source in _sources(Path(app.srcdir)).items():
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / name)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", check_sources)
    app.connect("source-read", fill_placeholders)
    app.connect("build-finished", copy_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
