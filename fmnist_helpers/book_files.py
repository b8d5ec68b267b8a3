"""The book's own result files: read from a checkout, or fetched once from the repository and verified."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "BOOK_FILES",
    "BOOK_URL_VARIABLE",
    "MANIFEST",
    "REPOSITORY_BRANCH",
    "REPOSITORY_URL",
    "BookFileError",
    "book_file",
    "book_url",
    "write_manifest",
]

#: The repository; ``_config.yml`` names the same (a test ties the two together).
REPOSITORY_URL = "https://github.com/fmnist-book/fashion-mnist-keras-book"
#: The branch whose files the book fetches.
REPOSITORY_BRANCH = "main"
#: Environment variable: a base URL under which the repository's files sit at their paths.
BOOK_URL_VARIABLE = "FMNIST_BOOK_URL"
#: The manifest: each book file's SHA-256, committed beside the files.
MANIFEST = "book/data/manifest.json"
#: The result files that chapters read, and the ONNX export of chapter 5's model that the
#: in-browser page runs (:data:`fmnist_helpers.export.EXPORT_PATH`), as paths in the repository.
BOOK_FILES: tuple[str, ...] = (
    "book/data/experiments.csv",
    "book/data/histories.json",
    "benchmarks/results/train_speed.json",
    "benchmarks/results/methods.json",
    "book/data/model.onnx",
)
#: The repository's top folder when this package is used from a checkout (editable install).
_CHECKOUT = Path(__file__).resolve().parent.parent


class BookFileError(RuntimeError):
    """A book file is missing locally and could not be fetched or verified."""


def book_url() -> str:
    """Return the base URL of the repository's raw files (``$FMNIST_BOOK_URL`` if set).

    Returns
    -------
    str
        For example ``https://raw.githubusercontent.com/OWNER/REPO/main``, without a
        trailing slash; a file's address is this plus ``/`` plus its repository path.
    """
    override = os.environ.get(BOOK_URL_VARIABLE)
    if override:
        return override.rstrip("/")
    owner_and_name = REPOSITORY_URL.removeprefix("https://github.com/")
    return f"https://raw.githubusercontent.com/{owner_and_name}/{REPOSITORY_BRANCH}"


def _checkout_roots() -> list[Path]:
    """Folders that may be the repository's top: the current one's ancestors, the package's."""
    here = Path.cwd().resolve()
    candidates = [here, *here.parents, _CHECKOUT]
    return [folder for folder in candidates if (folder / "_config.yml").is_file()]


def _cache_dir() -> Path:
    from .data import keras_cache_dir

    return keras_cache_dir().parent / "fmnist-book"


def book_file(path: str) -> Path:
    """Return a local copy of one of the book's result files.

    In a checkout of the repository (a local run of the book) the file is read where it
    is. Elsewhere, such as in Colab, it is fetched once with ``keras.utils.get_file`` from
    :func:`book_url` into Keras' cache (``fmnist-book/``), and its SHA-256 is checked
    against the repository's manifest first; a file that fails the check never stays
    in the cache. A cached copy is fetched again when the manifest lists a newer one, and
    used as it is when the manifest cannot be reached (offline).

    Parameters
    ----------
    path
        A repository path from :data:`BOOK_FILES`, such as ``"book/data/experiments.csv"``.

    Returns
    -------
    Path
        A readable local file.

    Raises
    ------
    ValueError
        If ``path`` is not one of :data:`BOOK_FILES`.
    BookFileError
        If the file is not local and cannot be fetched or verified, naming the address tried.
    """
    if path not in BOOK_FILES:
        raise ValueError(f"unknown book file {path!r}; expected one of {', '.join(BOOK_FILES)}")
    for root in _checkout_roots():
        if (root / path).is_file():
            return root / path
    cached = _cache_dir() / path
    try:
        manifest = _fetch(MANIFEST, None, None)  # not cached: it changes with the files
    except BookFileError:
        if cached.is_file():  # offline: the copy was verified when it was stored
            return cached
        raise
    sha256 = _manifest_entry(manifest, path)  # a manifest that does not list it is an error
    if cached.is_file() and _sha256(cached) == sha256:
        return cached
    return _fetch(path, cached, sha256)


def _manifest_entry(manifest_path: Path, path: str) -> str:
    """Look ``path`` up in a fetched manifest, then remove the manifest's temporary folder."""
    try:
        manifest = json.loads(manifest_path.read_text())
        return manifest[path]
    except (ValueError, KeyError, TypeError) as error:
        raise BookFileError(
            f"the manifest at {book_url()}/{MANIFEST} does not list {path} ({error!r}); "
            f"expected a JSON object of repository paths and SHA-256 digests. To fix: set "
            f"{BOOK_URL_VARIABLE} to a copy of the repository whose {MANIFEST} is current, "
            f"or run the chapter in a checkout of the repository"
        ) from error
    finally:
        shutil.rmtree(manifest_path.parent, ignore_errors=True)


def _fetch(path: str, target: Path | None, sha256: str | None) -> Path:
    """Download ``path`` into a temporary folder, check its SHA-256, then move it to ``target``.

    With ``target=None`` the file stays in its temporary folder, which the caller removes.
    """
    from keras.utils import get_file  # Keras is heavy: import only when fetching

    url = f"{book_url()}/{path}"
    staging_parent = target.parent if target is not None else None
    if staging_parent is not None:
        staging_parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=staging_parent))
    try:
        fetched = Path(get_file(Path(path).name, origin=url, cache_dir=str(staging), cache_subdir=""))
        if sha256 is not None and _sha256(fetched) != sha256:
            raise BookFileError(
                f"{path} fetched from {url} has SHA-256 {_sha256(fetched)}, expected {sha256} "
                f"from the manifest; the download is damaged or the file and the manifest "
                f"disagree. Nothing was kept. To fix: try again, or set {BOOK_URL_VARIABLE} "
                f"to a copy of the repository whose files match its {MANIFEST}"
            )
        if target is None:
            return fetched
        os.replace(fetched, target)
        return target
    except BookFileError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - one clear error instead
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, KeyboardInterrupt):
            raise
        raise BookFileError(
            f"{path} is not in a checkout of the book's repository here, and fetching it from "
            f"{url} failed ({error}). To fix: connect to the internet, set {BOOK_URL_VARIABLE} "
            f"to a base URL that serves the repository's files, or run the chapter in a "
            f"checkout of {REPOSITORY_URL}"
        ) from error
    finally:
        if target is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(root: str | os.PathLike[str] = _CHECKOUT, paths: Iterable[str] = BOOK_FILES) -> Path:
    """Write :data:`MANIFEST`: the SHA-256 of each book file, as committed.

    The sweep and the benchmark call it after writing their results.

    Parameters
    ----------
    root
        The repository's top folder.
    paths
        Repository paths to list.

    Returns
    -------
    Path
        The manifest file.
    """
    root = Path(root)
    digests = {path: _sha256(root / path) for path in paths if (root / path).is_file()}
    manifest = root / MANIFEST
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    return manifest
