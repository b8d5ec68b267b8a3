"""Shared fixtures: tiny real IDX files, and the real data set when it is installed."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from fmnist_helpers import data

TINY_SIZES = {"train": 6, "t10k": 4}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file: magic number, big-endian sizes, values."""
    header = (0x0800 + array.ndim).to_bytes(4, "big")
    header += b"".join(size.to_bytes(4, "big") for size in array.shape)
    return header + array.astype(np.uint8).tobytes()


def tiny_arrays() -> dict[str, np.ndarray]:
    """Tiny, deterministic images and labels in the official files' layout."""
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, count in TINY_SIZES.items():
        arrays[f"{prefix}-images-idx3-ubyte.gz"] = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        arrays[f"{prefix}-labels-idx1-ubyte.gz"] = np.arange(count, dtype=np.uint8) % 10
    return arrays


@pytest.fixture
def tiny_files(monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    """Point the package's FILES table at tiny data; return the arrays by file name."""
    arrays = tiny_arrays()
    files = {
        name: data.DataFile(
            name, array.shape, hashlib.sha256(idx_bytes(array)).hexdigest(), "0" * 32
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
        (folder / name).write_bytes(gzip.compress(idx_bytes(array)))
    return folder


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No FMNIST_DATA_DIR, an empty Keras cache and no Debian folder; returns KERAS_HOME."""
    keras_home = tmp_path / "keras-home"
    monkeypatch.delenv("FMNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setattr(data, "DEBIAN_DATA_DIR", tmp_path / "no-debian-package")
    return keras_home


def real_data_dir() -> Path | None:
    """The folder of the installed real data set, if any."""
    for folder in (data.keras_cache_dir(), data.DEBIAN_DATA_DIR):
        if all((folder / name).is_file() for name in data.FILES):
            return folder
    return None


@pytest.fixture(scope="session")
def real_data():
    """The real, verified data set; skips the test when it is not installed."""
    folder = real_data_dir()
    if folder is None:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    return data.load_data(folder, download=False)


def md5(payload: bytes) -> str:
    return hashlib.md5(payload).hexdigest()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from the committed chapters (once per session); its HTML folder."""
    from .site_build import build_site

    return build_site(tmp_path_factory.mktemp("site"))
