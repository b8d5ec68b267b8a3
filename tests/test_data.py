"""Tests of fmnist_helpers/data.py: search order, verification, errors, downloads."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from fmnist_helpers import CLASS_NAMES, DatasetError, data, load_data
from fmnist_helpers.__main__ import main

from .conftest import idx_bytes, real_data_dir

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"


def assert_matches(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES])
    np.testing.assert_array_equal(y_train, arrays[TRAIN_LABELS])
    np.testing.assert_array_equal(x_test, arrays["t10k-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8


def copy_files(source: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


# --- where the files are found -------------------------------------------------------


def test_load_data_from_explicit_dir(tiny_dir, tiny_files, isolated):
    assert_matches(load_data(tiny_dir, download=False), tiny_files)


def test_env_var_is_used(tiny_dir, tiny_files, isolated, monkeypatch):
    monkeypatch.setenv("FMNIST_DATA_DIR", str(tiny_dir))
    assert_matches(load_data(download=False), tiny_files)


def test_explicit_dir_beats_env_var(tiny_dir, tiny_files, isolated, monkeypatch, tmp_path):
    monkeypatch.setenv("FMNIST_DATA_DIR", str(tmp_path / "nowhere"))
    assert_matches(load_data(tiny_dir, download=False), tiny_files)


def test_keras_cache_is_searched(tiny_dir, tiny_files, isolated):
    copy_files(tiny_dir, isolated / "datasets" / "fashion-mnist")
    assert_matches(load_data(download=False), tiny_files)


def test_debian_dir_is_searched(tiny_dir, tiny_files, isolated, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_DATA_DIR", tiny_dir)
    paths = data.find_data_dir(download=False)
    assert set(paths.values()) == {tiny_dir / name for name in tiny_files}


def test_keras_cache_comes_before_debian(tiny_dir, isolated, monkeypatch):
    cache = copy_files(tiny_dir, isolated / "datasets" / "fashion-mnist")
    monkeypatch.setattr(data, "DEBIAN_DATA_DIR", tiny_dir)
    assert all(path.parent == cache for path in data.find_data_dir(download=False).values())


def test_keras_cache_dir_defaults_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.keras_cache_dir() == tmp_path / ".keras" / "datasets" / "fashion-mnist"


# --- what goes wrong, and what the message says ---------------------------------------


def test_no_data_anywhere_and_no_network(tiny_files, isolated, monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("keras.utils.get_file", offline)
    with pytest.raises(DatasetError, match=r"could not be downloaded \(tried 2 mirrors\)") as info:
        load_data()
    message = str(info.value)
    assert "name resolution" in message
    assert "FMNIST_DATA_DIR" in message and "apt-get install dataset-fashion-mnist" in message
    assert "connect to the internet and retry" in message


def test_download_off_names_files_and_fixes(tiny_files, isolated):
    with pytest.raises(DatasetError, match=r"not found; searched .*keras-home.*no-debian-package") as info:
        load_data(download=False)
    assert "(downloads are off)" in str(info.value)
    assert "FMNIST_DATA_DIR" in str(info.value)


def test_explicit_dir_missing_file(tiny_dir, isolated):
    (tiny_dir / TRAIN_LABELS).unlink()
    with pytest.raises(DatasetError, match=rf"{TRAIN_LABELS} not found; searched .* only, as asked"):
        load_data(tiny_dir)


def test_truncated_gz(tiny_dir, isolated):
    path = tiny_dir / TRAIN_IMAGES
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=rf"{path}: the gzip stream is truncated or corrupt") as info:
        load_data(tiny_dir)
    assert f"delete {path}" in str(info.value)


def test_not_gzip(tiny_dir, isolated):
    path = tiny_dir / TRAIN_LABELS
    path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(DatasetError, match=rf"{path}: not a gzip file .*expected the gzip-compressed IDX"):
        load_data(tiny_dir)


def test_wrong_magic_number(tiny_dir, tiny_files, isolated):
    path = tiny_dir / TRAIN_LABELS
    path.write_bytes(gzip.compress(idx_bytes(tiny_files[TRAIN_IMAGES])))  # images named as labels
    with pytest.raises(DatasetError, match=r"magic number 0x00000803, expected 0x00000801"):
        load_data(tiny_dir)


def test_wrong_counts(tiny_dir, tiny_files, isolated):
    path = tiny_dir / TRAIN_IMAGES
    path.write_bytes(gzip.compress(idx_bytes(tiny_files[TRAIN_IMAGES][:5])))
    with pytest.raises(DatasetError, match=r"header says shape \(5, 28, 28\), expected \(6, 28, 28\)"):
        load_data(tiny_dir)


def test_trailing_bytes(tiny_dir, tiny_files, isolated):
    path = tiny_dir / TRAIN_LABELS
    path.write_bytes(gzip.compress(idx_bytes(tiny_files[TRAIN_LABELS]) + b"\0"))
    with pytest.raises(DatasetError, match=r"15 bytes after decompression, expected 14"):
        load_data(tiny_dir)


def test_right_shape_wrong_content(tiny_dir, tiny_files, isolated):
    path = tiny_dir / TRAIN_LABELS
    path.write_bytes(gzip.compress(idx_bytes(tiny_files[TRAIN_LABELS][::-1].copy())))
    with pytest.raises(DatasetError, match=r"well-formed IDX file but its content has SHA-256 [0-9a-f]{64}"):
        load_data(tiny_dir)


def test_images_and_labels_disagree(tiny_dir, tiny_files, isolated, monkeypatch):
    labels = tiny_files[TRAIN_LABELS][:5]
    (tiny_dir / TRAIN_LABELS).write_bytes(gzip.compress(idx_bytes(labels)))
    entry = data.DataFile(TRAIN_LABELS, (5,), hashlib.sha256(idx_bytes(labels)).hexdigest(), "")
    monkeypatch.setitem(data.FILES, TRAIN_LABELS, entry)
    with pytest.raises(DatasetError, match=r"holds 6 images but .* holds 5 labels"):
        load_data(tiny_dir)


def test_parse_idx_too_short():
    with pytest.raises(DatasetError, match=r"x.idx: 2 bytes is too short for an IDX header"):
        data.parse_idx(b"\0\0", data.FILES[TRAIN_LABELS], "x.idx")


def test_dataset_error_is_an_oserror():
    assert issubclass(DatasetError, OSError)


# --- downloads -------------------------------------------------------------------------


def fake_get_file(payload_for, calls):
    """A stand-in for keras.utils.get_file that writes what payload_for(name) returns."""

    def get_file(fname, origin, cache_dir, cache_subdir, **kwargs):
        calls.append(origin)
        target = Path(cache_dir) / cache_subdir / fname
        payload = payload_for(fname)
        if isinstance(payload, BaseException):
            target.write_bytes(b"\x1f\x8b partial")
            raise payload
        target.write_bytes(payload)
        return str(target)

    return get_file


def cache_files(keras_home: Path) -> list[str]:
    folder = keras_home / "datasets" / "fashion-mnist"
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_download_fills_keras_cache(tiny_dir, tiny_files, isolated, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "keras.utils.get_file", fake_get_file(lambda name: (tiny_dir / name).read_bytes(), calls)
    )
    assert_matches(load_data(), tiny_files)
    assert cache_files(isolated) == sorted(tiny_files)
    assert calls == [data.MIRRORS[0] + name for name in tiny_files]
    # Keras' own layout: a later run finds the files without downloading again.
    calls.clear()
    assert_matches(load_data(download=False), tiny_files)
    assert calls == []


def test_interrupted_download_leaves_nothing(tiny_files, isolated, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "keras.utils.get_file", fake_get_file(lambda name: ConnectionResetError("reset by peer"), calls)
    )
    with pytest.raises(DatasetError, match=r"reset by peer"):
        load_data()
    assert cache_files(isolated) == []
    assert len(calls) == len(data.MIRRORS)


def test_interrupt_by_user_leaves_nothing(tiny_files, isolated, monkeypatch):
    monkeypatch.setattr("keras.utils.get_file", fake_get_file(lambda name: KeyboardInterrupt(), []))
    with pytest.raises(KeyboardInterrupt):
        load_data()
    assert cache_files(isolated) == []


def test_corrupt_download_is_not_kept(tiny_dir, tiny_files, isolated, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "keras.utils.get_file", fake_get_file(lambda name: gzip.compress(b"\0\0\x08\x01garbage"), calls)
    )
    with pytest.raises(DatasetError, match=r"could not be downloaded.*\n.*magic number|header"):
        load_data()
    assert cache_files(isolated) == []


def test_second_mirror_is_tried(tiny_dir, tiny_files, isolated, monkeypatch):
    calls = []
    # For every file the first mirror fails and the second succeeds.
    attempts = iter([ConnectionError("mirror down"), None] * len(tiny_files))

    def get_file(fname, origin, cache_dir, cache_subdir, **kwargs):
        calls.append(origin)
        failure = next(attempts)
        if failure is not None:
            raise failure
        target = Path(cache_dir) / cache_subdir / fname
        target.write_bytes((tiny_dir / fname).read_bytes())
        return str(target)

    monkeypatch.setattr("keras.utils.get_file", get_file)
    assert_matches(load_data(), tiny_files)
    assert calls[:2] == [mirror + TRAIN_IMAGES for mirror in data.MIRRORS]


# --- command line ----------------------------------------------------------------------


def test_cli_data_prints_paths(tiny_dir, isolated, capsys):
    assert main(["data", "--data-dir", str(tiny_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{TRAIN_IMAGES}: {tiny_dir / TRAIN_IMAGES}" in out
    assert "verified: 6 training and 4 test images" in out


def test_cli_data_error_exit_status(tiny_files, isolated, capsys):
    assert main(["data", "--no-download"]) == 1
    assert "error: train-images-idx3-ubyte.gz not found" in capsys.readouterr().err


# --- the real data set -----------------------------------------------------------------


def test_class_names():
    assert CLASS_NAMES == (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    )  # fmt: skip


def test_real_shapes_and_seed_post_labels(real_data):
    (x_train, y_train), (x_test, y_test) = real_data
    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == (
        (60000, 28, 28), (60000,), (10000, 28, 28), (10000,),
    )  # fmt: skip
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert y_test[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_real_data_equals_keras_loader(real_data, monkeypatch, tmp_path):
    """Keras' own loader, pointed at the same files through its cache, gives the same arrays."""
    import keras

    cache = copy_files(real_data_dir(), tmp_path / "datasets" / "fashion-mnist")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.src.backend.config, "keras_home", lambda: str(tmp_path))
    (kx_train, ky_train), (kx_test, ky_test) = keras.datasets.fashion_mnist.load_data()
    (x_train, y_train), (x_test, y_test) = real_data
    for ours, theirs in ((x_train, kx_train), (y_train, ky_train), (x_test, kx_test), (y_test, ky_test)):
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype
    assert sorted(os.listdir(cache)) == sorted(data.FILES)  # Keras downloaded nothing
