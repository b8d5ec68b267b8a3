"""Find, fetch, verify and parse the Fashion-MNIST files."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CLASS_NAMES",
    "DEBIAN_DATA_DIR",
    "DataFile",
    "DatasetError",
    "FILES",
    "MIRRORS",
    "fill_keras_cache",
    "find_data_dir",
    "keras_cache_dir",
    "load_data",
    "parse_idx",
]

#: The ten class names in label order, as Fashion-MNIST defines them.
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

#: Where Debian's ``dataset-fashion-mnist`` package installs the files.
DEBIAN_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Official mirrors, tried in order. Keras' own loader uses the first.
MIRRORS: tuple[str, ...] = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)


@dataclass(frozen=True)
class DataFile:
    """One of the four official files, and how to recognise it."""

    name: str  # the official, gzip-compressed file: ``train-images-idx3-ubyte.gz``
    shape: tuple[int, ...]
    sha256: str  # of the decompressed IDX bytes, so it checks either form
    gz_md5: str  # of the official .gz (Debian re-compresses, so only for downloads)

    @property
    def raw_name(self) -> str:
        """The name of the uncompressed IDX file, as ``gunzip`` leaves it."""
        return self.name.removesuffix(".gz")

    @property
    def magic(self) -> int:
        """The IDX magic number: unsigned bytes, then the number of dimensions."""
        return 0x0800 + len(self.shape)

    @property
    def num_bytes(self) -> int:
        """Size of the decompressed file: header plus one byte per value."""
        return 4 + 4 * len(self.shape) + int(np.prod(self.shape))


#: The four files, their shapes and hashes: the one place that knows them.
FILES: dict[str, DataFile] = {
    file.name: file
    for file in (
        DataFile(
            "train-images-idx3-ubyte.gz",
            (60000, 28, 28),
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ),
        DataFile(
            "train-labels-idx1-ubyte.gz",
            (60000,),
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "25c81989df183df01b3e8a0aad5dffbe",
        ),
        DataFile(
            "t10k-images-idx3-ubyte.gz",
            (10000, 28, 28),
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "bef4ecab320f06d8554ea6380940ec79",
        ),
        DataFile(
            "t10k-labels-idx1-ubyte.gz",
            (10000,),
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            "bb300cfdad3c16e7a12a480ee83cd310",
        ),
    )
}

_HOW_TO_GET = (
    "To fix: set FMNIST_DATA_DIR to a folder holding the four files (.gz or uncompressed), "
    "or install Debian's package (apt-get install dataset-fashion-mnist), "
    "or connect to the internet and retry"
)


class DatasetError(OSError):
    """A Fashion-MNIST file is missing, unreadable or not what it should be."""


def keras_cache_dir() -> Path:
    """Return the folder where Keras' ``fashion_mnist.load_data()`` keeps its files.

    Returns
    -------
    Path
        ``$KERAS_HOME/datasets/fashion-mnist``, or ``~/.keras/datasets/fashion-mnist``
        when ``KERAS_HOME`` is not set.
    """
    keras_home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(keras_home) / "datasets" / "fashion-mnist"


def _chosen_folder(path: Path, setting: str) -> Path:
    """Return ``path``, chosen by ``data_dir`` or ``FMNIST_DATA_DIR``, unless it is not a folder.

    A folder that does not exist is returned too: the search reports the files it lacks.
    """
    if not path.exists() or path.is_dir():
        return path
    known = {name for file in FILES.values() for name in (file.name, file.raw_name)}
    holder = path.parent if path.name in known else None  # given a file instead of its folder
    if setting == "data_dir":
        fix = (
            f"pass data_dir={str(holder)!r}, the folder that holds it"
            if holder is not None
            else "pass as data_dir the folder that holds the four files"
        )
    else:
        fix = (
            f"set FMNIST_DATA_DIR={holder}, the folder that holds it"
            if holder is not None
            else "set FMNIST_DATA_DIR to the folder that holds the four files, or unset it"
        )
    raise DatasetError(
        f"{setting} {path} is not a folder; expected a folder holding {', '.join(FILES)} "
        f"(or the same files uncompressed, without .gz). To fix: {fix}."
    )


def _candidate_dirs(data_dir: str | os.PathLike[str] | None) -> tuple[list[Path], bool]:
    """Return the folders to search, and whether a download may fill the gaps."""
    if data_dir is not None:
        return [_chosen_folder(Path(data_dir), "data_dir")], False
    if os.environ.get("FMNIST_DATA_DIR"):
        return [_chosen_folder(Path(os.environ["FMNIST_DATA_DIR"]), "FMNIST_DATA_DIR")], False
    return [keras_cache_dir(), DEBIAN_DATA_DIR], True


def _find_in(folder: Path, expected: DataFile) -> Path | None:
    """Return the file in ``folder``: the ``.gz`` when there is one, else the raw IDX file."""
    for name in (expected.name, expected.raw_name):
        if (folder / name).is_file():
            return folder / name
    return None


def parse_idx(
    raw: bytes, expected: DataFile, path: Path | str, fix: str | None = None
) -> np.ndarray:
    """Parse decompressed IDX bytes into a uint8 array, checking the header.

    Parameters
    ----------
    raw
        The decompressed bytes of an IDX file.
    expected
        The entry of :data:`FILES` this file should match.
    path
        Where the bytes came from; used in error messages only (a name ending in ``.gz``
        says the bytes were decompressed from it).
    fix
        How to replace a bad file, for error messages; by default, delete it and
        fetch a good copy into Keras' cache.

    Returns
    -------
    numpy.ndarray
        A read-only uint8 array of ``expected.shape``.

    Raises
    ------
    DatasetError
        If the magic number, the dimensions, the item count or the length is wrong.
    """
    fix = fix or _repair_fix(Path(path), chosen=None)
    if len(raw) < 4:
        raise DatasetError(
            f"{path}: {len(raw)} bytes is too short for an IDX header; "
            f"expected {expected.num_bytes} bytes. To fix: {fix}"
        )
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected.magic:
        raise DatasetError(
            f"{path}: magic number {magic:#010x}, expected {expected.magic:#010x} "
            f"(unsigned bytes, {len(expected.shape)} dimensions). "
            f"This is not the IDX file it is named for. To fix: {fix}"
        )
    header_len = 4 + 4 * len(expected.shape)
    if len(raw) < header_len:
        raise DatasetError(
            f"{path}: header is cut short at {len(raw)} bytes, expected {header_len}. "
            f"To fix: {fix}"
        )
    shape = tuple(
        int.from_bytes(raw[offset : offset + 4], "big") for offset in range(4, header_len, 4)
    )
    if shape != expected.shape:
        raise DatasetError(
            f"{path}: header says shape {shape}, expected {expected.shape} "
            f"({expected.shape[0]} items). To fix: {fix}"
        )
    if len(raw) != expected.num_bytes:
        after = " after decompression" if str(path).endswith(".gz") else ""
        raise DatasetError(
            f"{path}: {len(raw)} bytes{after}, expected {expected.num_bytes} "
            f"for shape {expected.shape}. To fix: {fix}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(expected.shape)


def _read_gzip(path: Path, expected: DataFile, fix: str) -> bytes:
    """Read and decompress a ``.gz`` file."""
    try:
        return gzip.decompress(path.read_bytes())
    except gzip.BadGzipFile as error:
        raise DatasetError(
            f"{path}: not a gzip file ({error}); expected the gzip-compressed IDX file "
            f"{expected.name}. To fix: {fix}"
        ) from error
    except (EOFError, zlib.error) as error:
        raise DatasetError(
            f"{path}: the gzip stream is truncated or corrupt ({error}); expected "
            f"{expected.num_bytes} bytes after decompression. To fix: {fix}"
        ) from error
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read ({error}). To fix: {fix}") from error


def _read_raw(path: Path, expected: DataFile, fix: str) -> bytes:
    """Read an uncompressed IDX file, refusing a gzip file that lacks its ``.gz``."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read ({error}). To fix: {fix}") from error
    if raw[:2] == b"\x1f\x8b":
        raise DatasetError(
            f"{path}: gzip-compressed, but named as the uncompressed IDX file "
            f"{expected.raw_name}; expected raw IDX bytes. To fix: rename it to "
            f"{path.with_name(expected.name)}, or {fix}"
        )
    return raw


def _repair_fix(path: Path, chosen: str | None) -> str:
    """Say how to replace a bad file: in the folder chosen by ``chosen``, or in the cache.

    ``chosen`` is ``"data_dir"`` or ``"FMNIST_DATA_DIR"`` when that setting picked the
    folder (the only place searched), and ``None`` for the automatic search.
    """
    if chosen is None:
        return f"delete {path} and run `python -m fmnist_helpers data` to fetch a good copy"
    other_way = (
        "call load_data() without data_dir" if chosen == "data_dir" else "unset FMNIST_DATA_DIR"
    )
    return (
        f"copy a good {path.name} into {path.parent}, the folder {chosen} names, or "
        f"{other_way} to use Keras' cache (filled by `python -m fmnist_helpers data`)"
    )


def _read_verified(path: Path, expected: DataFile, chosen: str | None = None) -> np.ndarray:
    """Decompress (unless it is a raw IDX file), parse and hash-check one file.

    ``chosen`` says which setting picked the file's folder, as for :func:`_repair_fix`.
    """
    fix = _repair_fix(path, chosen)
    if path.suffix != ".gz":
        raw = _read_raw(path, expected, fix)
        official = expected.raw_name
    else:
        raw = _read_gzip(path, expected, fix)
        official = expected.name
    array = parse_idx(raw, expected, path, fix)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected.sha256:
        raise DatasetError(
            f"{path}: well-formed IDX file but its content has SHA-256 {digest}, "
            f"expected {expected.sha256} (the official {official}). To fix: {fix}"
        )
    return array


def _download(expected: DataFile, target_dir: Path) -> Path:
    """Fetch one file with Keras' ``get_file`` into a temporary folder, verify, move.

    Nothing lands in ``target_dir`` unless it passed every check.
    """
    from keras.utils import get_file  # Keras is heavy: import only when downloading

    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(
            f"{expected.name} is missing and cannot be downloaded into {target_dir} ({error}). "
            f"To fix: set KERAS_HOME to a writable folder, or: {_HOW_TO_GET[len('To fix: '):]}."
        ) from error
    failures = []
    for mirror in MIRRORS:
        staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target_dir))
        try:
            fetched = Path(
                get_file(
                    expected.name,
                    origin=mirror + expected.name,
                    file_hash=expected.gz_md5,
                    hash_algorithm="md5",
                    cache_dir=str(staging),
                    cache_subdir="",
                )
            )
            _read_verified(fetched, expected)
            final = target_dir / expected.name
            os.replace(fetched, final)
            return final
        except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - report and move on
            if isinstance(error, KeyboardInterrupt):
                raise
            failures.append(f"{mirror}{expected.name}: {error}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    raise DatasetError(
        f"{expected.name} is not in {target_dir} and could not be downloaded "
        f"(tried {len(MIRRORS)} mirrors):\n  " + "\n  ".join(failures) + f"\n{_HOW_TO_GET}."
    )


def _not_found_message(
    name: str, dirs: list[Path], data_dir: str | os.PathLike[str] | None, may_download: bool
) -> str:
    """Say which file is missing, where it was looked for, and a fix that applies there."""
    expected = f"Expected the four files {', '.join(FILES)}, or the same without .gz"
    if may_download:  # the automatic search, with downloads turned off
        searched = ", ".join(str(folder) for folder in dirs)
        return f"{name} not found; searched {searched} (downloads are off). {expected}. {_HOW_TO_GET}."
    folder = dirs[0]
    if data_dir is not None:
        chosen, other_way = "the data_dir you passed", "call load_data() without data_dir"
    else:
        chosen, other_way = "the folder FMNIST_DATA_DIR names", "unset FMNIST_DATA_DIR"
    return (
        f"{name} not found in {folder}, {chosen}. That folder is the only place searched: "
        f"it wins over every other place, downloads included. {expected}. To fix: put the "
        f"four files into {folder}, or {other_way} to search Keras' cache and Debian's "
        f"folder and download what is missing."
    )


def find_data_dir(
    data_dir: str | os.PathLike[str] | None = None, download: bool = True
) -> dict[str, Path]:
    """Locate each of the four files, downloading what is missing where allowed.

    The search order is:

    1. ``data_dir``, when given (nothing else is searched);
    2. the environment variable ``FMNIST_DATA_DIR``, when set (nothing else is searched);
    3. Keras' cache, ``$KERAS_HOME/datasets/fashion-mnist`` (default ``~/.keras``);
    4. Debian's ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``);
    5. a download from the official mirrors into Keras' cache, so that Keras' own
       ``keras.datasets.fashion_mnist.load_data()`` works offline afterwards too.

    Each file may be the official gzip-compressed one (``train-images-idx3-ubyte.gz``) or
    the raw IDX file it decompresses to (``train-images-idx3-ubyte``, as torchvision's
    ``raw/`` folder keeps it); both are checked against the same SHA-256 of the IDX
    content. The first folder in the order above that holds either form wins; a folder
    that holds both gives the ``.gz``, the official form that Keras reads too.

    Parameters
    ----------
    data_dir
        A folder holding the four files, compressed or not. Overrides every other place.
    download
        Whether step 5 may run.

    Returns
    -------
    dict[str, Path]
        The path of each file, keyed by its official (``.gz``) name. Not yet verified.

    Raises
    ------
    DatasetError
        If ``data_dir`` or ``FMNIST_DATA_DIR`` names something that is not a folder, or
        if a file is found nowhere and cannot be downloaded.
    """
    dirs, may_download = _candidate_dirs(data_dir)
    paths: dict[str, Path] = {}
    for name, expected in FILES.items():
        found = next(filter(None, (_find_in(folder, expected) for folder in dirs)), None)
        if found is None and may_download and download:
            found = _download(expected, keras_cache_dir())
        if found is None:
            raise DatasetError(_not_found_message(name, dirs, data_dir, may_download))
        paths[name] = found
    return paths


def fill_keras_cache(paths: dict[str, Path]) -> list[Path]:
    """Copy verified files into Keras' cache, so ``keras.datasets.fashion_mnist.load_data()``
    finds them offline (it checks no hash and uses whatever it finds there).

    Keras reads only the ``.gz`` files, so a raw IDX file is gzip-compressed on the way.
    Each copy goes to a temporary file first and is renamed into place, so an interrupted
    copy never leaves a partial file.

    Parameters
    ----------
    paths
        File name to path, as :func:`find_data_dir` returns; verify them first.

    Returns
    -------
    list[Path]
        The files that were copied (those already in the cache are left alone).

    Raises
    ------
    DatasetError
        If the cache cannot be written (``KERAS_HOME`` names a read-only place, or a file).
    """
    cache = keras_cache_dir()
    copied = []
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for name, source in paths.items():
            target = cache / name
            if target.exists():
                continue
            with source.open("rb") as original, tempfile.NamedTemporaryFile(
                dir=cache, prefix=".partial-", delete=False
            ) as staging:
                try:
                    if source.suffix == ".gz":
                        shutil.copyfileobj(original, staging)
                    else:
                        with gzip.GzipFile(name, "wb", fileobj=staging, mtime=0) as compressed:
                            shutil.copyfileobj(original, compressed)
                except BaseException:
                    os.unlink(staging.name)
                    raise
            os.replace(staging.name, target)
            copied.append(target)
    except OSError as error:
        raise DatasetError(
            f"cannot copy the verified files into Keras' cache {cache} ({error}); "
            f"{len(copied)} of {len(paths)} copied. To fix: set KERAS_HOME to a writable folder."
        ) from error
    return copied


def load_data(
    data_dir: str | os.PathLike[str] | None = None, download: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST, verified: a drop-in for ``keras.datasets.fashion_mnist.load_data()``.

    Every file is decompressed (unless it is already a raw IDX file), its IDX header
    checked and its content compared with the official SHA-256 hash. See
    :func:`find_data_dir` for where the files are looked for, and which form wins when a
    folder holds both.

    Parameters
    ----------
    data_dir
        A folder holding the four ``.gz`` files, or the raw IDX files they decompress to;
        by default they are searched for.
    download
        Whether a missing file may be downloaded into Keras' cache.

    Returns
    -------
    tuple
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes
        ``(60000, 28, 28)``, ``(60000,)``, ``(10000, 28, 28)`` and ``(10000,)``.

    Raises
    ------
    DatasetError
        If ``data_dir`` is not a folder, or a file is missing, truncated, not gzip (for a
        ``.gz``), malformed or not the official content.

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape
    (60000, 28, 28)
    """
    paths = find_data_dir(data_dir, download=download)
    chosen = (
        "data_dir"
        if data_dir is not None
        else "FMNIST_DATA_DIR" if os.environ.get("FMNIST_DATA_DIR") else None
    )
    arrays = {name: _read_verified(path, FILES[name], chosen) for name, path in paths.items()}
    splits = []
    for prefix in ("train", "t10k"):
        images_name, labels_name = f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"
        images, labels = arrays[images_name], arrays[labels_name]
        if len(images) != len(labels):
            raise DatasetError(
                f"{paths[images_name]} holds {len(images)} images but {paths[labels_name]} "
                f"holds {len(labels)} labels; expected one label per image. To fix: take "
                f"both files from the same source."
            )
        splits.append((images, labels))
    return splits[0], splits[1]
