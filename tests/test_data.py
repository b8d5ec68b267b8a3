"""Tests of fmnist_helpers/data.py: search order, verification, errors, downloads."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from fmnist_helpers import CLASS_NAMES, DatasetError, data, load_data
from fmnist_helpers.__main__ import main

from .conftest import idx_bytes, md5

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
    assert f"copy a good {path.name} into {raw_dir}, the folder data_dir names" in str(info.value)


def test_raw_wrong_content(tiny_dir, tiny_files, isolated, tmp_path):
    raw_dir = decompress_files(tiny_dir, tmp_path / "raw")
    path = raw_dir / raw(TRAIN_LABELS)
    path.write_bytes(idx_bytes(tiny_files[TRAIN_LABELS][::-1].copy()))
    expected = data.FILES[TRAIN_LABELS].sha256
    with pytest.raises(
        DatasetError,
        match=rf"{path}: well-formed IDX file but its content has SHA-256 [0-9a-f]{{64}}, "
        rf"expected {expected} \(the official {raw(TRAIN_LABELS)}\)\. "
        rf"To fix: copy a good {path.name} into {raw_dir}",
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
    message = rf"{path}: cannot be read \(.*Permission denied.*\)\. To fix: copy a good {form} into {folder}"
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


def test_download_off_names_files_and_fixes(tiny_files, isolated):
    with pytest.raises(DatasetError, match=r"not found; searched .*keras-home.*no-debian-package") as info:
        load_data(download=False)
    assert "(downloads are off)" in str(info.value)
    assert "or the same without .gz" in str(info.value)
    assert "set FMNIST_DATA_DIR to a folder holding the four files (.gz or uncompressed)" in str(info.value)


def test_empty_explicit_dir_says_it_wins_and_its_fixes_work(tiny_dir, tiny_files, isolated, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        DatasetError,
        match=rf"^{TRAIN_IMAGES} not found in {empty}, the data_dir you passed\. That folder is the "
        rf"only place searched: it wins over every other place, downloads included\. Expected "
        rf"the four files .* To fix: put the four files into {empty}, or call load_data\(\) "
        rf"without data_dir to search Keras' cache",
    ) as info:
        load_data(empty)
    assert "FMNIST_DATA_DIR" not in str(info.value)  # setting it would change nothing
    # The first fix: the files in the folder.
    assert_matches(load_data(copy_files(tiny_dir, empty), download=False), tiny_files)
    # The second: no data_dir, and the search finds them in Keras' cache.
    copy_files(tiny_dir, isolated / "datasets" / "fashion-mnist")
    assert_matches(load_data(download=False), tiny_files)


def test_explicit_dir_missing_one_file(tiny_dir, isolated):
    (tiny_dir / TRAIN_LABELS).unlink()
    with pytest.raises(DatasetError, match=rf"^{TRAIN_LABELS} not found in {tiny_dir}, the data_dir you passed"):
        load_data(tiny_dir)


def test_empty_env_var_dir_says_it_wins_and_its_fixes_work(tiny_dir, tiny_files, isolated, monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("FMNIST_DATA_DIR", str(empty))
    with pytest.raises(
        DatasetError,
        match=rf"^{TRAIN_IMAGES} not found in {empty}, the folder FMNIST_DATA_DIR names\. That folder "
        rf"is the only place searched: .* To fix: put the four files into {empty}, or unset "
        rf"FMNIST_DATA_DIR to search Keras' cache",
    ):
        load_data()
    copy_files(tiny_dir, empty)
    assert_matches(load_data(download=False), tiny_files)  # the first fix
    (empty / TRAIN_IMAGES).unlink()
    copy_files(tiny_dir, isolated / "datasets" / "fashion-mnist")
    monkeypatch.delenv("FMNIST_DATA_DIR")
    assert_matches(load_data(download=False), tiny_files)  # the second


def test_truncated_gz(tiny_dir, isolated):
    path = tiny_dir / TRAIN_IMAGES
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=rf"{path}: the gzip stream is truncated or corrupt") as info:
        load_data(tiny_dir)
    assert f"copy a good {TRAIN_IMAGES} into {tiny_dir}" in str(info.value)


@pytest.mark.parametrize("chosen", ["data_dir", "FMNIST_DATA_DIR"])
def test_a_bad_file_in_a_chosen_folder_says_to_replace_it_there(
    tiny_dir, tiny_files, isolated, monkeypatch, chosen
):
    path = tiny_dir / TRAIN_LABELS
    good = path.read_bytes()
    path.write_bytes(gzip.compress(idx_bytes(tiny_files[TRAIN_LABELS][::-1].copy())))
    if chosen == "data_dir":
        folder, other_way = tiny_dir, r"call load_data\(\) without data_dir"
    else:
        monkeypatch.setenv("FMNIST_DATA_DIR", str(tiny_dir))
        folder, other_way = None, "unset FMNIST_DATA_DIR"
    fix = rf"To fix: copy a good {TRAIN_LABELS} into {tiny_dir}, the folder {chosen} names, or {other_way} to use Keras' cache"
    with pytest.raises(DatasetError, match=fix) as info:
        load_data(folder, download=False)
    assert "delete" not in str(info.value)  # deleting it would not fetch a copy there
    path.write_bytes(good)  # the first fix
    assert_matches(load_data(folder, download=False), tiny_files)
    path.write_bytes(b"broken")
    copy_files(tiny_dir, isolated / "datasets" / "fashion-mnist")
    (isolated / "datasets" / "fashion-mnist" / TRAIN_LABELS).write_bytes(good)
    monkeypatch.delenv("FMNIST_DATA_DIR", raising=False)
    assert_matches(load_data(download=False), tiny_files)  # the second


def test_a_bad_file_in_keras_cache_says_to_delete_and_fetch(tiny_dir, tiny_files, isolated):
    cache = copy_files(tiny_dir, isolated / "datasets" / "fashion-mnist")
    path = cache / TRAIN_LABELS
    path.write_bytes(gzip.compress(idx_bytes(tiny_files[TRAIN_LABELS][::-1].copy())))
    with pytest.raises(DatasetError, match=rf"To fix: delete {path} and run `python -m fmnist_helpers data`"):
        load_data(download=False)


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


# --- downloads: Keras' real get_file from a local mirror -------------------------------


@dataclass
class Mirror:
    """A local mirror of the (tiny) official files, served over HTTP on the loopback address."""

    folder: Path
    url: str  # ends with "/", as the entries of data.MIRRORS do
    requests: list[str]  # the paths requested so far, such as "/train-images-idx3-ubyte.gz"
    md5: dict[str, str]  # the MD5 of each served file, computed from the bytes it serves


def start_mirror(folder: Path, http_server) -> Mirror:
    requests: list[str] = []
    url = http_server(folder, requests) + "/"
    served = {path.name: md5(path.read_bytes()) for path in folder.iterdir()}
    return Mirror(folder, url, requests, served)


@pytest.fixture
def mirror(tiny_dir, http_server, monkeypatch) -> Mirror:
    """The four tiny files on a local web server, which is the package's only mirror."""
    served = start_mirror(tiny_dir, http_server)
    monkeypatch.setattr(data, "MIRRORS", (served.url,))
    return served


@pytest.fixture
def get_file_calls(monkeypatch) -> list[dict]:
    """Keras' real ``get_file``, recording the arguments of each call."""
    import keras

    real_get_file = keras.utils.get_file
    calls: list[dict] = []

    def recording_get_file(*args, **kwargs):
        calls.append({**dict(zip(["fname", "origin"], args)), **kwargs})
        return real_get_file(*args, **kwargs)

    monkeypatch.setattr(keras.utils, "get_file", recording_get_file)
    return calls


def cache_files(keras_home: Path) -> list[str]:
    """Every file and folder under Keras' cache folder for Fashion-MNIST (hidden ones too)."""
    folder = keras_home / "datasets" / "fashion-mnist"
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")) if folder.exists() else []


def test_download_verifies_with_the_served_files_hashes(tiny_files, isolated, mirror, get_file_calls):
    assert_matches(load_data(), tiny_files)
    assert cache_files(isolated) == sorted(tiny_files)  # the four files, and no leftovers
    assert sorted(mirror.requests) == sorted(f"/{name}" for name in tiny_files)
    # What Colab's readers download is checked against the MD5 of what the mirror serves.
    assert [(call["fname"], call["origin"], call["file_hash"], call["hash_algorithm"])
            for call in get_file_calls] == [
        (name, mirror.url + name, mirror.md5[name], "md5") for name in tiny_files]
    # Keras' own layout: a later run finds the files without downloading again.
    assert_matches(load_data(download=False), tiny_files)
    assert len(mirror.requests) == len(tiny_files)


def test_first_mirror_down_second_used(tiny_files, isolated, mirror, refused_url, monkeypatch, capsys):
    monkeypatch.setattr(data, "MIRRORS", (refused_url + "/", mirror.url))
    assert_matches(load_data(), tiny_files)
    assert sorted(mirror.requests) == sorted(f"/{name}" for name in tiny_files)
    assert cache_files(isolated) == sorted(tiny_files)


def test_no_mirror_reachable_names_each_and_the_fixes(tiny_files, isolated, refused_url, monkeypatch):
    monkeypatch.setattr(data, "MIRRORS", (refused_url + "/a/", refused_url + "/b/"))
    with pytest.raises(DatasetError, match=rf"^{TRAIN_IMAGES} is not in .*keras-home.* and could not "
                                           rf"be downloaded \(tried 2 mirrors\):\n") as info:
        load_data()
    message = str(info.value)
    for folder in ("a", "b"):
        assert f"{refused_url}/{folder}/{TRAIN_IMAGES}: URL fetch failure" in message
    assert "FMNIST_DATA_DIR" in message and "apt-get install dataset-fashion-mnist" in message
    assert "connect to the internet and retry" in message
    assert cache_files(isolated) == []


def test_a_file_that_is_not_the_official_gz_is_rejected_and_not_kept(
        tiny_files, isolated, tmp_path, http_server, monkeypatch):
    # The same IDX content, compressed again: its SHA-256 after decompression is right, so
    # only the MD5 of the official .gz, checked by get_file, tells it from the real file.
    folder = tmp_path / "recompressed"
    folder.mkdir()
    for name, array in tiny_files.items():
        (folder / name).write_bytes(gzip.compress(idx_bytes(array), compresslevel=1, mtime=1))
    served = start_mirror(folder, http_server)
    monkeypatch.setattr(data, "MIRRORS", (served.url,))
    expected = data.FILES[TRAIN_IMAGES].gz_md5
    assert served.md5[TRAIN_IMAGES] != expected
    with pytest.raises(DatasetError, match=rf"{TRAIN_IMAGES} is not in .* could not be downloaded "
                                           rf"\(tried 1 mirrors\):\n  {served.url}{TRAIN_IMAGES}: .*"
                                           rf"md5 file hash does not match the provided value of {expected}"):
        load_data()
    assert served.requests == [f"/{TRAIN_IMAGES}"]
    assert cache_files(isolated) == []


def test_a_partial_cache_downloads_only_what_is_missing(tiny_files, isolated, mirror):
    cache = isolated / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for name in (TRAIN_IMAGES, TRAIN_LABELS):
        (cache / name).write_bytes((mirror.folder / name).read_bytes())
    assert_matches(load_data(), tiny_files)
    assert sorted(mirror.requests) == sorted(f"/{name}" for name in tiny_files
                                             if name not in (TRAIN_IMAGES, TRAIN_LABELS))
    assert cache_files(isolated) == sorted(tiny_files)


def test_an_unwritable_cache_is_named_with_the_fix(tiny_files, isolated, mirror, tmp_path, monkeypatch):
    # A KERAS_HOME below a regular file cannot be created, even by root (chmod would not stop root).
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KERAS_HOME", str(blocker / "keras"))
    cache = blocker / "keras" / "datasets" / "fashion-mnist"
    with pytest.raises(DatasetError, match=rf"^{TRAIN_IMAGES} is missing and cannot be downloaded into "
                                           rf"{cache} \(.*Not a directory.*\)\. To fix: set KERAS_HOME "
                                           rf"to a writable folder, or: set FMNIST_DATA_DIR"):
        load_data()
    assert mirror.requests == []


def test_interrupt_by_user_leaves_nothing(tiny_files, isolated, mirror, monkeypatch):
    def interrupted_get_file(fname, origin, *, file_hash, hash_algorithm, cache_dir, cache_subdir):
        (Path(cache_dir) / cache_subdir / fname).write_bytes(b"\x1f\x8b partial")
        raise KeyboardInterrupt

    monkeypatch.setattr("keras.utils.get_file", interrupted_get_file)
    with pytest.raises(KeyboardInterrupt):
        load_data()
    assert cache_files(isolated) == []


def test_a_download_that_is_not_idx_is_not_kept(tiny_files, isolated, tmp_path, http_server, monkeypatch):
    # A mirror that answers with a well-formed gzip file of something else, whose MD5 is the
    # one the package expects (a mistake in FILES): the IDX check still refuses it.
    folder = tmp_path / "garbage"
    folder.mkdir()
    garbage = gzip.compress(b"\0\0\x08\x01garbage", mtime=0)
    (folder / TRAIN_IMAGES).write_bytes(garbage)
    entry = dataclasses.replace(data.FILES[TRAIN_IMAGES], gz_md5=md5(garbage))
    monkeypatch.setitem(data.FILES, TRAIN_IMAGES, entry)
    monkeypatch.setattr(data, "MIRRORS", (start_mirror(folder, http_server).url,))
    with pytest.raises(DatasetError, match=r"could not be downloaded.*\n.*magic number 0x00000801, "
                                           r"expected 0x00000803"):
        load_data()
    assert cache_files(isolated) == []


def test_cli_data_downloads_into_keras_cache(tiny_files, isolated, mirror, capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    cache = isolated / "datasets" / "fashion-mnist"
    assert f"{TRAIN_IMAGES}: {cache / TRAIN_IMAGES}" in out
    assert "verified: 6 training and 4 test images" in out


# --- the real mirrors (pytest -m network) ----------------------------------------------


@pytest.mark.network
@pytest.mark.parametrize("mirror_url", data.MIRRORS, ids=["googleapis", "amazonaws"])
def test_each_official_mirror_serves_the_verified_files(mirror_url, isolated, monkeypatch, get_file_calls):
    """Download every file from one real mirror, as a Colab reader does, and verify it."""
    monkeypatch.setattr(data, "MIRRORS", (mirror_url,))
    (x_train, y_train), (x_test, y_test) = load_data()
    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == (
        (60000, 28, 28), (60000,), (10000, 28, 28), (10000,))
    assert cache_files(isolated) == sorted(data.FILES)
    assert [call["file_hash"] for call in get_file_calls] == [file.gz_md5 for file in data.FILES.values()]
    for name, file in data.FILES.items():  # the official .gz itself, byte for byte
        assert md5((isolated / "datasets" / "fashion-mnist" / name).read_bytes()) == file.gz_md5


@pytest.mark.parametrize(
    ("markexpr", "selected"),
    [("", ["offline"]), ("not slow", ["offline"]), ("network", ["offline", "online"]),
     ("network and not slow", ["offline", "online"])],
    ids=["plain pytest", "make test-fast", "make test-network", "network and not slow"],
)
def test_network_tests_run_only_when_asked_for(markexpr, selected):
    """The tests/conftest.py hook: `pytest` and `pytest -m "not slow"` never reach the internet.

    (With -m, pytest's own selection then keeps only the tests the expression matches.)
    """
    from types import SimpleNamespace

    from .conftest import pytest_collection_modifyitems

    items = [SimpleNamespace(name=name, get_closest_marker=lambda marker, name=name:
                             object() if (marker, name) == ("network", "online") else None)
             for name in ("offline", "online")]
    deselected = []
    config = SimpleNamespace(getoption=lambda option: {"markexpr": markexpr}[option],
                             hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items)))
    pytest_collection_modifyitems(config, items)
    assert [item.name for item in items] == selected
    assert [item.name for item in deselected] == [name for name in ("offline", "online") if name not in selected]


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


def test_cli_data_unwritable_keras_cache(tiny_dir, isolated, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KERAS_HOME", str(blocker / "keras"))
    assert main(["data", "--data-dir", str(tiny_dir), "--keras-cache"]) == 1
    captured = capsys.readouterr()
    assert "verified: 6 training and 4 test images" in captured.out
    cache = blocker / "keras" / "datasets" / "fashion-mnist"
    assert captured.err == (
        f"error: cannot copy the verified files into Keras' cache {cache} "
        f"([Errno 20] Not a directory: '{cache}'); 0 of 4 copied. "
        f"To fix: set KERAS_HOME to a writable folder.\n"
    )


def test_fill_keras_cache_leaves_no_partial_copy(tiny_dir, isolated, monkeypatch):
    def disk_full(source, target, *args):
        target.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data.shutil, "copyfileobj", disk_full)
    with pytest.raises(DatasetError, match=r"cannot copy the verified files into Keras' cache .*No space "
                                           r"left on device\); 0 of 4 copied\. To fix: set KERAS_HOME"):
        data.fill_keras_cache(data.find_data_dir(tiny_dir))
    assert cache_files(isolated) == []


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


def test_real_raw_files_verify(real_data, real_data_paths, tmp_path):
    """The official files, decompressed as torchvision's raw/ folder keeps them, pass the same hashes."""
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for name, path in real_data_paths.items():
        content = path.read_bytes()
        (raw_dir / raw(name)).write_bytes(gzip.decompress(content) if path.suffix == ".gz" else content)
    for ours, real in zip(load_data(raw_dir, download=False), real_data):
        np.testing.assert_array_equal(ours[0], real[0])
        np.testing.assert_array_equal(ours[1], real[1])


def test_real_data_equals_keras_loader(real_data, real_data_paths, monkeypatch, tmp_path):
    """Keras' own loader, pointed at the same files through its cache, gives the same arrays."""
    import keras

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.src.backend.config, "keras_home", lambda: str(tmp_path))
    data.fill_keras_cache(real_data_paths)
    cache = tmp_path / "datasets" / "fashion-mnist"
    (kx_train, ky_train), (kx_test, ky_test) = keras.datasets.fashion_mnist.load_data()
    (x_train, y_train), (x_test, y_test) = real_data
    for ours, theirs in ((x_train, kx_train), (y_train, ky_train), (x_test, kx_test), (y_test, ky_test)):
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype
    assert sorted(os.listdir(cache)) == sorted(data.FILES)  # Keras downloaded nothing


def test_real_data_files_follow_the_packages_search(tiny_dir, tiny_files, isolated, monkeypatch):
    """The real-data tests find the data set wherever the package does, FMNIST_DATA_DIR too,
    and skip (None) only where the package finds nothing."""
    from .conftest import real_data_files

    assert real_data_files() is None
    monkeypatch.setenv("FMNIST_DATA_DIR", str(tiny_dir))
    assert real_data_files() == {name: tiny_dir / name for name in tiny_files}
