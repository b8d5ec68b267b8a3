"""Use a trained model on image files."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from .data import CLASS_NAMES, load_data
from .evaluation import load_trained_model, predict_image, top_predictions

__all__ = [
    "DEFAULT_MODEL_PATH",
    "HEADLINE_MODEL_NAME",
    "MODEL_SEARCH_DIRS",
    "best_model_path",
    "find_model_path",
    "load_image",
    "make_example_image",
    "make_example_photo",
    "prepare_photo",
    "predict_file",
    "save_image",
]

#: Where the training chapter (``book/5_train.ipynb``) saves its model: ``artifacts/`` at the
#: repository root. Meaningful in a clone of the repository, not in an installed package;
#: ``predict`` looks relative to the working folder instead (:func:`find_model_path`).
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "artifacts" / "model.keras"

#: The file name under which ``make headline`` saves the headline model (the sweep's
#: "best model" run, seed 0), beside chapter 5's model.
HEADLINE_MODEL_NAME = "headline_model.keras"


def best_model_path(artifacts_dir: str | os.PathLike[str] = DEFAULT_MODEL_PATH.parent) -> Path:
    """Return the model to classify with: the headline model when there is one, else chapter 5's.

    The headline model (:data:`~fmnist_helpers.recipes.HEADLINE_RECIPE`) is more accurate but
    takes minutes longer to train, so only ``make headline`` (or the full sweep) saves it.

    Parameters
    ----------
    artifacts_dir
        The folder both models are saved in; by default ``artifacts/`` of this checkout.

    Returns
    -------
    Path
        ``artifacts_dir/headline_model.keras`` if that file exists, otherwise
        ``artifacts_dir/model.keras`` (which may not exist yet).
    """
    headline = Path(artifacts_dir) / HEADLINE_MODEL_NAME
    return headline if headline.is_file() else Path(artifacts_dir) / DEFAULT_MODEL_PATH.name


#: Where :func:`find_model_path` (and so ``predict`` without ``--model``) looks for a saved
#: model, nearest first, relative to the working folder: its ``artifacts/``, then its
#: parent's. The chapters save to ``../artifacts`` of the folder they run in (their
#: ``artifacts_dir`` parameter), so a chapter run in a folder is found from that folder and
#: from its parent: in a clone, ``artifacts/`` at the top from ``book/`` or from the top;
#: in Colab, ``/artifacts`` from ``/content``.
MODEL_SEARCH_DIRS: tuple[Path, ...] = (Path("artifacts"), Path("..", "artifacts"))


def find_model_path(folders: Sequence[str | os.PathLike[str]] = MODEL_SEARCH_DIRS) -> Path:
    """Return the saved model to classify with when none is named: the nearest folder's best.

    Each folder is tried in turn; the first holding a model gives :func:`best_model_path`'s
    pick: ``headline_model.keras`` if there is one, else ``model.keras``. A nearer folder
    wins over a farther one even when only the farther one holds the headline model.

    Parameters
    ----------
    folders
        Folders to look in, nearest first; relative ones start from the working folder.
        By default :data:`MODEL_SEARCH_DIRS`: ``artifacts/`` and ``../artifacts/``.

    Returns
    -------
    Path
        The absolute path of the saved model.

    Raises
    ------
    FileNotFoundError
        If no folder holds either file, naming every folder looked in and the fix.

    Examples
    --------
    In Colab, after chapter 5 ran in ``/content`` with its own ``artifacts_dir``:

    >>> find_model_path()  # doctest: +SKIP
    PosixPath('/artifacts/model.keras')
    """
    # abspath resolves "..", as the reader would, without following symbolic links.
    searched = list(dict.fromkeys(Path(os.path.abspath(folder)) for folder in folders))
    for folder in searched:
        model = best_model_path(folder)
        if model.is_file():
            return model
    names = f"{HEADLINE_MODEL_NAME} or {DEFAULT_MODEL_PATH.name}"
    raise FileNotFoundError(
        f"no saved model ({names}) in {' or '.join(str(folder) for folder in searched)}. "
        f"To fix: run the training chapter (5_train) in this folder ({Path.cwd()}), which "
        f"saves {DEFAULT_MODEL_PATH.name} in ../artifacts, or `make book` in a clone of the "
        f"book; or name a saved model with --model PATH"
    )


#: Height and width of one Fashion-MNIST image.
_IMAGE_SIZE = (28, 28)

#: Where the example image of :func:`make_example_image` comes from; also written into the PNG.
_PROVENANCE = {
    "Source": "Fashion-MNIST test set (t10k-images-idx3-ubyte), image index {index}, "
    "label {label} ({name})",
    "Copyright": "Copyright (c) 2017 Zalando SE, https://github.com/zalandoresearch/fashion-mnist",
    "License": "MIT",
}


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file into a 28x28 uint8 grayscale array, as the training images are.

    The file is converted to 8-bit grayscale (Pillow's mode ``"L"``); colour images become
    ``0.299 R + 0.587 G + 0.114 B`` and any alpha channel is dropped. Nothing is resized
    or inverted: Fashion-MNIST shows a light object on a dark background (0 is black,
    255 white), so a photo of a dark object on white needs ``255 - image`` first.

    Parameters
    ----------
    path
        A PNG, or any other 28x28 image Pillow can read.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape ``(28, 28)``, values 0..255.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not an image Pillow can read, is damaged, or is not 28x28 pixels.

    Examples
    --------
    >>> image = load_image("book/images/test_image_0.png")  # doctest: +SKIP
    >>> image.shape, image.dtype
    ((28, 28), dtype('uint8'))
    """
    path = Path(path)
    picture = _open_picture(path, "a 28x28 image such as a PNG")
    if picture.size != _IMAGE_SIZE:
        width, height = picture.size
        raise ValueError(
            f"{path} is {width}x{height} pixels, expected 28x28 like the Fashion-MNIST "
            f"images. To fix: crop or resize it to 28x28 first, for example with "
            f"PIL.Image.open(path).resize((28, 28)), or treat it as a photo (prepare_photo, "
            f"or predict --photo); it is not resized here"
        )
    return np.array(picture.convert("L"), dtype=np.uint8)


def _open_picture(path: Path, expected: str) -> Image.Image:
    """Open and decode an image file, with errors that name the file and the fix."""
    if not path.is_file():
        where = "" if path.is_absolute() else f" (relative paths start from {Path.cwd()})"
        raise FileNotFoundError(
            f"no image file at {path}; expected {expected}. To fix: check the path{where}"
        )
    with path.open("rb") as file:  # a missing permission is reported as itself
        try:
            picture = Image.open(file)
        except UnidentifiedImageError as error:
            raise ValueError(
                f"{path} is not an image Pillow can read; expected an image file such as "
                f"a PNG. To fix: check that the file holds an image (not text or HTML), "
                f"or re-save it as PNG"
            ) from error
        try:
            picture.load()
        except (OSError, SyntaxError) as error:  # Pillow's errors for truncated or broken data
            raise ValueError(
                f"{path} looks like an image but cannot be decoded ({error}); it may be "
                f"truncated or damaged. To fix: re-save or re-download it"
            ) from error
    return picture


def save_image(
    image: np.ndarray, path: str | os.PathLike[str], *, text: Mapping[str, str] | None = None
) -> Path:
    """Write one 28x28 uint8 image as an 8-bit grayscale PNG.

    The PNG is stored without compression, so the same pixels always give the same bytes,
    whatever zlib build Pillow uses; at 28x28 it is under 1 KB anyway. :func:`load_image`
    reads it back exactly.

    Parameters
    ----------
    image
        uint8 array of shape ``(28, 28)``, as in ``x_test[0]``.
    path
        Where to write the PNG; its folder must exist.
    text
        Optional PNG text chunks (keyword to value), such as ``{"Source": ...}``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError
        If ``image`` is not a numpy array of dtype uint8.
    ValueError
        If ``image`` is not of shape ``(28, 28)``.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"image must be a numpy array, got {type(image).__name__}. "
            f"To fix: pass np.asarray(image, dtype=np.uint8)"
        )
    if image.dtype != np.uint8:
        raise TypeError(
            f"image must have dtype uint8 (values 0..255), got {image.dtype}. To fix: for "
            f"pixels scaled to 0..1 pass (image * 255).round().astype(np.uint8); for 0..255 "
            f"values pass image.astype(np.uint8)"
        )
    if image.shape != _IMAGE_SIZE:
        raise ValueError(
            f"image must have shape (28, 28), got {image.shape}. To fix: pass one image, "
            f"such as x_test[0], without a batch or channel axis (image.squeeze() drops "
            f"axes of size 1)"
        )
    path = Path(path)
    info = PngImagePlugin.PngInfo()
    for keyword, value in (text or {}).items():
        info.add_text(keyword, value)
    Image.fromarray(image).save(path, format="PNG", compress_level=0, pnginfo=info)
    return path


def make_example_image(index: int, path: str | os.PathLike[str]) -> Path:
    """Write Fashion-MNIST test image ``x_test[index]`` as a PNG, with its provenance.

    The book ships ``book/images/test_image_0.png``, made by
    ``make_example_image(0, "book/images/test_image_0.png")``: Fashion-MNIST test image
    index 0, label 9, "Ankle boot". Fashion-MNIST is copyright (c) 2017 Zalando SE and
    released under the MIT license (https://github.com/zalandoresearch/fashion-mnist);
    the PNG carries this in its ``Source``, ``Copyright`` and ``License`` text chunks.

    Parameters
    ----------
    index
        Which test image, 0..9999.
    path
        Where to write the PNG; missing folders are created.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If ``index`` is not a valid test-image index.
    DatasetError
        If the data set cannot be found or verified (see :func:`load_data`).
    """
    image, text = _test_image(index)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_image(image, path, text=text)


def _test_image(index: int) -> tuple[np.ndarray, dict[str, str]]:
    """Test image ``x_test[index]`` and its provenance, as PNG text chunks."""
    _, (x_test, y_test) = load_data()
    if not 0 <= index < len(x_test):
        raise ValueError(
            f"index {index} is out of range; the test set has {len(x_test)} images, "
            f"so expected 0..{len(x_test) - 1}"
        )
    label = int(y_test[index])
    text = {key: value.format(index=index, label=label, name=CLASS_NAMES[label])
            for key, value in _PROVENANCE.items()}
    return x_test[index], text


def make_example_photo(index: int, path: str | os.PathLike[str], size: tuple[int, int] = (320, 240)) -> Path:
    """Write a catalogue-style photo made from Fashion-MNIST test image ``x_test[index]``.

    The book has no photographs it may ship, so it makes one: the test image is inverted
    (a dark object on a light background, as in a shop's catalogue), enlarged six times,
    tinted, placed off-centre on a larger off-white canvas, and given a little sensor-like
    noise, all seeded by ``index``. The PNG carries its provenance in its text chunks.

    Parameters
    ----------
    index
        Which test image, 0..9999.
    path
        Where to write the PNG; missing folders are created.
    size
        Width and height of the photo in pixels, each at least 200.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If ``index`` is out of range or ``size`` is too small for the enlarged object.
    """
    if min(size) < 200:
        raise ValueError(f"size must be at least 200x200 pixels to hold the 168x168 object, got {size}")
    image, text = _test_image(index)
    background = (246, 243, 236)
    garment = Image.fromarray(255 - image).resize((168, 168), Image.Resampling.BICUBIC)
    garment = ImageOps.colorize(garment, black=(52, 40, 36), white=background)
    canvas = Image.new("RGB", size, background)
    canvas.paste(garment, (size[0] - 168 - 24, (size[1] - 168) // 3))
    rng = np.random.default_rng(index)
    pixels = np.asarray(canvas, dtype=np.float64) + rng.normal(0.0, 4.0, (size[1], size[0], 3))
    photo = Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))
    text["Source"] = f"made by fmnist_helpers.make_example_photo from the {text['Source']}"
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    photo.save(path, format="PNG", pnginfo=info)
    return path


def prepare_photo(photo: Image.Image, threshold: int = 40) -> np.ndarray:
    """Turn a photo of one object on a plain light background into a Fashion-MNIST-like image.

    The steps of chapter 8, in the spirit of how Zalando made Fashion-MNIST from its
    catalogue: grayscale; invert, so the object is light on black; crop to the object's
    bounding box (pixels brighter than ``threshold`` after inverting); resize so its longer
    side is 28 pixels, keeping the aspect ratio; and centre it on a black 28x28 square.

    Parameters
    ----------
    photo
        A Pillow image, colour or grayscale.
    threshold
        Inverted pixel values at or below this count as background when cropping.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape ``(28, 28)``, ready for :func:`~fmnist_helpers.predict_image`.

    Raises
    ------
    ValueError
        If no pixel stands out from the background.
    """
    inverted = ImageOps.invert(ImageOps.grayscale(photo))
    box = inverted.point(lambda value: 255 * (value > threshold)).getbbox()
    if box is None:
        raise ValueError(
            f"no object found: every pixel is within {threshold} of white. To fix: use a photo "
            f"of a dark object on a light background, or lower the threshold"
        )
    square = ImageOps.pad(inverted.crop(box), _IMAGE_SIZE, method=Image.Resampling.LANCZOS, color=0)
    return np.array(square, dtype=np.uint8)


def predict_file(
    image_path: str | os.PathLike[str],
    model_path: str | os.PathLike[str],
    top: int = 3,
    photo: bool = False,
) -> list[tuple[str, float]]:
    """Classify one image file with a saved model; return the most likely classes.

    This is what ``python -m fmnist_helpers predict IMAGE`` runs.

    Parameters
    ----------
    image_path
        A 28x28 image, light object on dark background (see :func:`load_image`).
    model_path
        A model saved with ``model.save(path)``, such as :data:`DEFAULT_MODEL_PATH`.
    top
        How many classes to return, 1..10.
    photo
        Treat the file as a photo of one object on a light background, of any size, and
        bring it to Fashion-MNIST's form with :func:`prepare_photo` first.

    Returns
    -------
    list of (str, float)
        Class name and probability, most likely first.

    Raises
    ------
    FileNotFoundError
        If the image or the model is missing.
    ValueError
        If ``top`` is out of range, the image cannot be used (see :func:`load_image`), or
        the model does not output one probability per Fashion-MNIST class.

    Examples
    --------
    >>> predict_file("book/images/test_image_0.png", DEFAULT_MODEL_PATH)  # doctest: +SKIP
    [('Ankle boot', 0.99...), ('Sneaker', 0.00...), ('Sandal', 0.00...)]
    """
    if not 1 <= top <= len(CLASS_NAMES):
        raise ValueError(
            f"top must be between 1 and {len(CLASS_NAMES)} (the number of classes), got {top}"
        )
    # The image before the model: a bad image fails fast.
    if photo:
        image = prepare_photo(_open_picture(Path(image_path), "a photo such as a PNG or JPEG"))
    else:
        image = load_image(image_path)
    model = load_trained_model(model_path)
    probabilities = predict_image(model, image)
    if probabilities.shape != (len(CLASS_NAMES),):
        raise ValueError(
            f"the model at {model_path} outputs shape {probabilities.shape} per image, "
            f"expected ({len(CLASS_NAMES)},): one probability per Fashion-MNIST class. "
            f"To fix: pass a model trained on Fashion-MNIST, such as the training chapter's"
        )
    return top_predictions(probabilities, k=top)
