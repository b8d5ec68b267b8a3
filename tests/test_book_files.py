"""Tests of fmnist_helpers/book_files.py: local reads, verified fetches from a local server, errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from fmnist_helpers import book_files

from .conftest import ROOT

PATH = "book/data/experiments.csv"


@pytest.fixture
def served(tmp_path: Path, http_server):
    """A local HTTP server over a folder laid out like the repository; returns (folder, url)."""
    folder = tmp_path / "served"
    (folder / "book" / "data").mkdir(parents=True)
    return folder, http_server(folder)


@pytest.fixture
def away_from_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run as Colab would: no checkout around, an empty Keras cache; returns KERAS_HOME."""
    workdir = tmp_path / "colab"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setattr(book_files, "_CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    return tmp_path / "keras-home"


def serve(folder: Path, content: bytes, listed: bytes | None = None) -> None:
    (folder / PATH).write_bytes(content)
    digest = hashlib.sha256(content if listed is None else listed).hexdigest()
    (folder / book_files.MANIFEST).write_text(json.dumps({PATH: digest}))


def test_repository_url_is_the_one_in_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert book_files.REPOSITORY_URL == config["repository"]["url"]
    assert book_files.REPOSITORY_BRANCH == config["repository"]["branch"]


def test_default_address_is_the_repositorys_raw_files(monkeypatch):
    monkeypatch.delenv(book_files.BOOK_URL_VARIABLE, raising=False)
    # A fork's address (make set-repository) works the same way.
    monkeypatch.setattr(book_files, "REPOSITORY_URL", "https://github.com/an-owner/a-fork")
    assert book_files.book_url() == "https://raw.githubusercontent.com/an-owner/a-fork/main"
    monkeypatch.setenv(book_files.BOOK_URL_VARIABLE, "http://example.org/copy/")
    assert book_files.book_url() == "http://example.org/copy"


def test_committed_manifest_matches_the_committed_files():
    manifest = json.loads((ROOT / book_files.MANIFEST).read_text())
    assert set(manifest) == set(book_files.BOOK_FILES)
    for path, digest in manifest.items():
        assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest, (
            f"{path} changed without `write_manifest()`; the sweep and the benchmark write it")


def test_a_file_in_the_checkout_is_read_without_any_fetch(monkeypatch):
    monkeypatch.chdir(ROOT / "book")
    monkeypatch.setenv(book_files.BOOK_URL_VARIABLE, "http://127.0.0.1:9/nothing-listens-here")
    assert book_files.book_file(PATH) == ROOT / PATH


def test_fetches_verifies_and_caches(served, away_from_checkout, monkeypatch):
    folder, url = served
    serve(folder, b"run,accuracy\na,0.9\n")
    monkeypatch.setenv(book_files.BOOK_URL_VARIABLE, url)
    path = book_files.book_file(PATH)
    assert path == away_from_checkout / "datasets" / "fmnist-book" / PATH
    assert path.read_bytes() == b"run,accuracy\na,0.9\n"
    (folder / PATH).unlink()  # the cached, verified copy is used from now on
    assert book_files.book_file(PATH).read_bytes() == b"run,accuracy\na,0.9\n"
    monkeypatch.setenv(book_files.BOOK_URL_VARIABLE, "http://127.0.0.1:9")  # and offline too
    assert book_files.book_file(PATH).read_bytes() == b"run,accuracy\na,0.9\n"


def test_a_newer_file_in_the_manifest_replaces_the_cached_copy(served, away_from_checkout, monkeypatch):
    folder, url = served
    monkeypatch.setenv(book_files.BOOK_URL_VARIABLE, url)
    serve(folder, b"old\n")
    book_files.book_file(PATH)
    serve(folder, b"new\n")
    assert book_files.book_file(PATH).read_bytes() == b"new\n"


def test_a_file_with_the_wrong_hash_is_refused_and_not_kept(served, away_from_checkout, monkeypatch):
    folder, url = served
    serve(folder, b"truncated", listed=b"the real content")
    monkeypatch.setenv(book_files.BOOK_URL_VARIABLE, url)
    with pytest.raises(book_files.BookFileError, match=(
            rf"{PATH} fetched from {url}/{PATH} has SHA-256 \w+, expected \w+ from the manifest.*"
            r"Nothing was kept")):
        book_files.book_file(PATH)
    cache = away_from_checkout / "datasets" / "fmnist-book"
    assert not cache.exists() or not any(path.is_file() for path in cache.rglob("*"))


def test_a_server_that_is_down_is_named(away_from_checkout, monkeypatch):
    monkeypatch.setenv(book_files.BOOK_URL_VARIABLE, "http://127.0.0.1:9")
    with pytest.raises(book_files.BookFileError, match=(
            rf"{book_files.MANIFEST} is not in a checkout of the book's repository here, and "
            r"fetching it from http://127.0.0.1:9/book/data/manifest.json failed .*To fix: connect")):
        book_files.book_file(PATH)


def test_unknown_book_file():
    with pytest.raises(ValueError, match=r"unknown book file 'book/data/other.csv'; expected one of"):
        book_files.book_file("book/data/other.csv")


def test_a_manifest_without_the_file_is_named(served, away_from_checkout, monkeypatch):
    folder, url = served
    (folder / PATH).write_text("run\n")
    (folder / book_files.MANIFEST).write_text(json.dumps({"book/data/other.csv": "0" * 64}))
    monkeypatch.setenv(book_files.BOOK_URL_VARIABLE, url)
    with pytest.raises(book_files.BookFileError, match=(
            rf"the manifest at {url}/book/data/manifest.json does not list {PATH} .*To fix: set "
            r"FMNIST_BOOK_URL to a copy of the repository whose book/data/manifest.json is current")):
        book_files.book_file(PATH)


def test_write_manifest_lists_the_files_that_exist(tmp_path):
    (tmp_path / "book" / "data").mkdir(parents=True)
    (tmp_path / PATH).write_bytes(b"abc")
    manifest = book_files.write_manifest(tmp_path)
    assert json.loads(manifest.read_text()) == {PATH: hashlib.sha256(b"abc").hexdigest()}


def test_a_cached_copy_does_not_hide_a_manifest_without_the_file(served, away_from_checkout, monkeypatch):
    # Only an unreachable manifest falls back to the cache; a reachable one must list the file.
    folder, url = served
    serve(folder, b"run\n")
    monkeypatch.setenv(book_files.BOOK_URL_VARIABLE, url)
    book_files.book_file(PATH)  # cached now
    (folder / book_files.MANIFEST).write_text(json.dumps({"book/data/other.csv": "0" * 64}))
    with pytest.raises(book_files.BookFileError, match=rf"the manifest at {url}/.* does not list {PATH}"):
        book_files.book_file(PATH)
