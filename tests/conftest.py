"""Shared fixtures, one per thing: the repository, tiny real IDX files, the real data set,
a local HTTP server, and helpers that read the committed chapters."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from fmnist_helpers import data

#: The repository's top folder (the checkout the tests run in).
ROOT = Path(__file__).resolve().parents[1]
#: The chapters' folder.
BOOK_DIR = ROOT / "book"

TINY_SIZES = {"train": 6, "t10k": 4}


# --- markers ---------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the `network` tests out, unless the -m expression names that marker.

    So plain `pytest`, `make test` and `pytest -m "not slow"` never touch the internet, and
    `pytest -m network` runs exactly those tests. (The top-level conftest.py marks nbval's
    notebook items slow.)
    """
    if "network" in (config.getoption("markexpr") or ""):
        return
    network = [item for item in items if item.get_closest_marker("network") is not None]
    if network:
        config.hook.pytest_deselected(items=network)
        items[:] = [item for item in items if item.get_closest_marker("network") is None]


# --- the data set: tiny real IDX files -------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file: magic number, big-endian sizes, values."""
    header = (0x0800 + array.ndim).to_bytes(4, "big")
    header += b"".join(size.to_bytes(4, "big") for size in array.shape)
    return header + array.astype(np.uint8).tobytes()


def md5(payload: bytes) -> str:
    return hashlib.md5(payload).hexdigest()


def tiny_arrays() -> dict[str, np.ndarray]:
    """Tiny, deterministic images and labels in the official files' layout."""
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, count in TINY_SIZES.items():
        arrays[f"{prefix}-images-idx3-ubyte.gz"] = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        arrays[f"{prefix}-labels-idx1-ubyte.gz"] = np.arange(count, dtype=np.uint8) % 10
    return arrays


def tiny_gz(array: np.ndarray) -> bytes:
    """The tiny file as a mirror serves it: gzip-compressed, with a fixed timestamp."""
    return gzip.compress(idx_bytes(array), mtime=0)


@pytest.fixture
def tiny_files(monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    """Point the package's FILES table at tiny data; return the arrays by file name.

    Each entry's ``gz_md5`` is the MD5 of :func:`tiny_gz`'s bytes, as the official entries
    hold the MD5 of the official ``.gz``: a download of exactly those bytes verifies.
    """
    arrays = tiny_arrays()
    files = {
        name: data.DataFile(
            name, array.shape, hashlib.sha256(idx_bytes(array)).hexdigest(), md5(tiny_gz(array))
        )
        for name, array in arrays.items()
    }
    monkeypatch.setattr(data, "FILES", files)
    return arrays


@pytest.fixture
def tiny_dir(tmp_path: Path, tiny_files: dict[str, np.ndarray]) -> Path:
    """A folder holding the four tiny files, gzip-compressed like the real ones."""
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name, array in tiny_files.items():
        (folder / name).write_bytes(tiny_gz(array))
    return folder


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No FMNIST_DATA_DIR, an empty Keras cache and no Debian folder; returns KERAS_HOME."""
    keras_home = tmp_path / "keras-home"
    monkeypatch.delenv("FMNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setattr(data, "DEBIAN_DATA_DIR", tmp_path / "no-debian-package")
    return keras_home


# --- the real data set -----------------------------------------------------------------


def real_data_files() -> dict[str, Path] | None:
    """Where the package itself finds the real data set without downloading; None if nowhere.

    The package's own search (``FMNIST_DATA_DIR``, Keras' cache, Debian's folder), so a data
    set found only through ``FMNIST_DATA_DIR`` is found here too. Each path may be the
    official ``.gz`` or the raw IDX file, as :func:`fmnist_helpers.find_data_dir` returns it.
    """
    try:
        return data.find_data_dir(download=False)
    except data.DatasetError:
        return None


@pytest.fixture(scope="session")
def real_data_paths() -> dict[str, Path]:
    """The real data set's files, by official name; skips the test when it is not installed."""
    paths = real_data_files()
    if paths is None:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist, "
                    "or set FMNIST_DATA_DIR)")
    return paths


@pytest.fixture(scope="session")
def real_data(real_data_paths: dict[str, Path]):
    """The real, verified data set, as the package loads it; skips when it is not installed.

    A file that is there but fails verification fails the test instead of skipping it.
    """
    folders = {path.parent for path in real_data_paths.values()}
    return data.load_data(folders.pop() if len(folders) == 1 else None, download=False)


# --- a local HTTP server ---------------------------------------------------------------


@contextlib.contextmanager
def serving(folder: Path, requests: list[str] | None = None) -> Iterator[str]:
    """Serve ``folder`` over HTTP on the loopback address while the block runs; yield its URL.

    Each request's path is appended to ``requests`` when it is given.
    """

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
            if requests is not None:
                requests.append(self.path)

    handler = functools.partial(Handler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def http_server() -> Iterator[Callable[..., str]]:
    """Start local HTTP servers: ``http_server(folder, requests=None)`` returns a URL.

    Every server started through it stops when the test ends.
    """
    with contextlib.ExitStack() as stack:
        yield lambda folder, requests=None: stack.enter_context(serving(folder, requests))


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback URL whose port refuses every connection, as a server that is down does.

    The port stays bound (but not listening) while the test runs, so no one else takes it.
    """
    import socket

    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


# --- the committed chapters ------------------------------------------------------------


def load_chapter(chapter: str) -> dict:
    """A committed chapter, as the JSON in ``book/CHAPTER.ipynb``."""
    return json.loads((BOOK_DIR / f"{chapter}.ipynb").read_text())


def code_cells(notebook: dict) -> list[dict]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def cell_tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def cell_source(cell: dict) -> str:
    return "".join(cell["source"])


#: Chapter 5's cells that only a reader needs, by what they do: the early-stopping demo and
#: its glue, three exercise solutions and their glue. The sweep leaves them out; three test
#: files count them.
CHAPTER_5_LESSON_ONLY_CELLS = 8


def environment_without(*names: str) -> dict[str, str]:
    """A copy of the environment without ``names``: for a subprocess that must not inherit them."""
    return {key: value for key, value in os.environ.items() if key not in names}


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from the committed chapters (once per session); its HTML folder."""
    from .site_build import build_site

    return build_site(tmp_path_factory.mktemp("site"))
