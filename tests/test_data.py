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


def decompress_files(source: Path, target: Path, names: tuple[str, ...] | None = None) -> Path:
    """Write the raw IDX files (the .gz names without .gz) that gunzip would leave."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names or data.FILES:
        (target / raw(name)).write_bytes(gzip.decompress((source / name).read_bytes()))
    return target


def raw(name: str) -> str:
    return data.FILES[name].raw_name


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


# --- raw (uncompressed) IDX files ------------------------------------------------------


def test_raw_files_load(tiny_dir, tiny_files, isolated, tmp_path):
    raw_dir = decompress_files(tiny_dir, tmp_path / "raw")
    assert data.find_data_dir(raw_dir) == {name: raw_dir / raw(name) for name in tiny_files}
    assert_matches(load_data(raw_dir, download=False), tiny_files)


def test_raw_and_gz_mixed_in_one_folder(tiny_dir, tiny_files, isolated):
    decompress_files(tiny_dir, tiny_dir, (TRAIN_LABELS,))
    (tiny_dir / TRAIN_LABELS).unlink()
    assert data.find_data_dir(tiny_dir)[TRAIN_LABELS] == tiny_dir / raw(TRAIN_LABELS)
    assert_matches(load_data(tiny_dir, download=False), tiny_files)


def test_gz_is_preferred_when_a_folder_holds_both(tiny_dir, tiny_files, isolated):
    decompress_files(tiny_dir, tiny_dir)
    (tiny_dir / raw(TRAIN_IMAGES)).write_bytes(b"not read")
    assert data.find_data_dir(tiny_dir) == {name: tiny_dir / name for name in tiny_files}
    assert_matches(load_data(tiny_dir, download=False), tiny_files)


def test_folder_order_comes_before_form(tiny_dir, tiny_files, isolated, monkeypatch):
    cache = decompress_files(tiny_dir, isolated / "datasets" / "fashion-mnist")
    monkeypatch.setattr(data, "DEBIAN_DATA_DIR", tiny_dir)
    assert data.find_data_dir(download=False) == {name: cache / raw(name) for name in tiny_files}


def test_raw_files_from_env_var(tiny_dir, tiny_files, isolated, monkeypatch, tmp_path):
    monkeypatch.setenv("FMNIST_DATA_DIR", str(decompress_files(tiny_dir, tmp_path / "raw")))
    assert_matches(load_data(download=False), tiny_files)


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        (16 + 784, r"800 bytes, expected 4720 for shape \(6, 28, 28\)"),  # one image of six
        (10, r"header is cut short at 10 bytes, expected 16"),
    ],
    ids=["data-cut-short", "header-cut-short"],
)
def test_truncated_raw(tiny_dir, isolated, tmp_path, keep, message):
    raw_dir = decompress_files(tiny_dir, tmp_path / "raw")
    path = raw_dir / raw(TRAIN_IMAGES)
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(DatasetError, match=rf"{path}: {message}") as info:
        load_data(raw_dir, download=False)
    assert "after decompression" not in str(info.value)
    assert f"delete {path} and run `python -m fmnist_helpers data`" in str(info.value)


def test_raw_wrong_content(tiny_dir, tiny_files, isolated, tmp_path):
    raw_dir = decompress_files(tiny_dir, tmp_path / "raw")
    path = raw_dir / raw(TRAIN_LABELS)
    path.write_bytes(idx_bytes(tiny_files[TRAIN_LABELS][::-1].copy()))
    expected = data.FILES[TRAIN_LABELS].sha256
    with pytest.raises(
        DatasetError,
        match=rf"{path}: well-formed IDX file but its content has SHA-256 [0-9a-f]{{64}}, "
        rf"expected {expected} \(the official {raw(TRAIN_LABELS)}\)\. To fix: delete {path}",
    ):
        load_data(raw_dir, download=False)


def test_raw_name_on_gzip_content(tiny_dir, isolated, tmp_path):
    raw_dir = decompress_files(tiny_dir, tmp_path / "raw")
    path = raw_dir / raw(TRAIN_LABELS)
    path.write_bytes((tiny_dir / TRAIN_LABELS).read_bytes())  # compressed, but named raw
    with pytest.raises(
        DatasetError,
        match=rf"{path}: gzip-compressed, but named as the uncompressed IDX file "
        rf"{raw(TRAIN_LABELS)}; expected raw IDX bytes\. To fix: rename it to {path}\.gz",
    ):
        load_data(raw_dir, download=False)


@pytest.mark.parametrize("form", [TRAIN_LABELS, raw(TRAIN_LABELS)], ids=["gz", "raw"])
def test_unreadable_file(tiny_dir, isolated, tmp_path, monkeypatch, form):
    folder = tiny_dir if form.endswith(".gz") else decompress_files(tiny_dir, tmp_path / "raw")
    path = folder / form
    read_bytes = Path.read_bytes

    def refuse(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    message = rf"{path}: cannot be read \(.*Permission denied.*\)\. To fix: delete {path}"
    with pytest.raises(DatasetError, match=message):
        load_data(folder, download=False)


def test_fill_keras_cache_compresses_raw_files(tiny_dir, tiny_files, isolated, tmp_path):
    raw_dir = decompress_files(tiny_dir, tmp_path / "raw")
    copied = data.fill_keras_cache(data.find_data_dir(raw_dir))
    cache = isolated / "datasets" / "fashion-mnist"
    assert sorted(copied) == sorted(cache / name for name in tiny_files)
    for name in tiny_files:  # Keras reads only the .gz names, with gzip
        assert gzip.decompress((cache / name).read_bytes()) == (raw_dir / raw(name)).read_bytes()
    assert data.find_data_dir(download=False) == {name: cache / name for name in tiny_files}


def test_fill_keras_cache_copies_gz_files(tiny_dir, tiny_files, isolated):
    data.fill_keras_cache(data.find_data_dir(tiny_dir))
    cache = isolated / "datasets" / "fashion-mnist"
    for name in tiny_files:
        assert (cache / name).read_bytes() == (tiny_dir / name).read_bytes()


# --- what goes wrong, and what the message says ---------------------------------------


@pytest.mark.parametrize(
    ("file_name", "fix"),
    [
        (TRAIN_IMAGES, r"pass data_dir='{folder}', the folder that holds it\."),
        ("train-images-idx3-ubyte", r"pass data_dir='{folder}', the folder that holds it\."),
        ("notes.txt", r"pass as data_dir the folder that holds the four files\."),
    ],
    ids=["gz-file", "raw-file", "other-file"],
)
def test_data_dir_is_a_file(tiny_dir, isolated, file_name, fix):
    path = tiny_dir / file_name
    path.write_bytes(b"")
    with pytest.raises(
        DatasetError,
        match=rf"^data_dir {path} is not a folder; expected a folder holding {TRAIN_IMAGES}, "
        rf".*\(or the same files uncompressed, without \.gz\)\. To fix: "
        + fix.format(folder=tiny_dir),
    ):
        load_data(path, download=False)


@pytest.mark.parametrize(
    ("file_name", "fix"),
    [
        (TRAIN_LABELS, r"set FMNIST_DATA_DIR={folder}, the folder that holds it\."),
        ("notes.txt", r"set FMNIST_DATA_DIR to the folder that holds the four files, or unset it\."),
    ],
    ids=["data-file", "other-file"],
)
def test_env_var_is_a_file(tiny_dir, isolated, monkeypatch, file_name, fix):
    path = tiny_dir / file_name
    path.write_bytes(b"")
    monkeypatch.setenv("FMNIST_DATA_DIR", str(path))
    with pytest.raises(
        DatasetError,
        match=rf"^FMNIST_DATA_DIR {path} is not a folder; .* To fix: " + fix.format(folder=tiny_dir),
    ):
        load_data()


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
    assert "or the same without .gz" in str(info.value)
    assert "set FMNIST_DATA_DIR to a folder holding the four files (.gz or uncompressed)" in str(info.value)


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


def test_cli_data_raw_files(tiny_dir, isolated, tmp_path, capsys):
    raw_dir = decompress_files(tiny_dir, tmp_path / "raw")
    assert main(["data", "--data-dir", str(raw_dir), "--keras-cache"]) == 0
    out = capsys.readouterr().out
    assert f"{TRAIN_IMAGES}: {raw_dir / raw(TRAIN_IMAGES)}" in out
    assert "verified: 6 training and 4 test images" in out
    assert f"copied into Keras' cache: {isolated / 'datasets' / 'fashion-mnist' / TRAIN_IMAGES}" in out


def test_cli_data_dir_is_a_file(tiny_dir, isolated, capsys):
    path = tiny_dir / TRAIN_IMAGES
    assert main(["data", "--data-dir", str(path)]) == 1
    assert f"error: data_dir {path} is not a folder;" in capsys.readouterr().err


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


def test_real_raw_files_verify(real_data, tmp_path):
    """The official files, decompressed as torchvision's raw/ folder keeps them, pass the same hashes."""
    raw_dir = decompress_files(real_data_dir(), tmp_path / "raw")
    assert sorted(os.listdir(raw_dir)) == sorted(raw(name) for name in data.FILES)
    for ours, real in zip(load_data(raw_dir, download=False), real_data):
        np.testing.assert_array_equal(ours[0], real[0])
        np.testing.assert_array_equal(ours[1], real[1])


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
