"""Export a trained model to ONNX with Keras' own ``model.export``, for the book's in-browser page."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from .data import CLASS_NAMES
from .inference import DEFAULT_MODEL_PATH, HEADLINE_MODEL_NAME, best_model_path
from .models import INPUT_SHAPE

__all__ = [
    "EXPORT_PATH",
    "SOURCE_DIGEST_KEY",
    "SOURCE_FILE_KEY",
    "export_onnx",
    "export_saved_model",
    "inference_model",
    "model_digest",
    "read_export_metadata",
]

#: Where the book keeps the export of chapter 5's model, as a repository path. It is one of
#: :data:`~fmnist_helpers.book_files.BOOK_FILES`: committed, and listed in the manifest.
EXPORT_PATH = "book/data/model.onnx"
#: The ONNX metadata key that records :func:`model_digest` of the model it was exported from.
SOURCE_DIGEST_KEY = "keras_weights_sha256"
#: The ONNX metadata key that records the file name of the model it was exported from.
SOURCE_FILE_KEY = "keras_model_file"
#: The repository's top folder when this package is used from a checkout.
_CHECKOUT = Path(__file__).resolve().parent.parent


def model_digest(model: keras.Model) -> str:
    """Return a SHA-256 of a model's weights: their order, dtypes, shapes and values.

    Unlike the SHA-256 of a ``.keras`` file (a zip archive that records when it was
    written), it is the same for a model and for that model saved and loaded again, so it
    tells whether an export was made from a given saved model.

    Parameters
    ----------
    model
        A built Keras model.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    digest = hashlib.sha256()
    for weight in model.weights:
        values = np.ascontiguousarray(weight.numpy())
        digest.update(f"{values.dtype.str}{values.shape}".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def inference_model(model: keras.Model) -> keras.Model:
    """The model as it predicts: a ``Sequential`` model without its random augmentation layers.

    Keras' random preprocessing layers (``RandomFlip``, the book's ``RandomShift``: every
    layer whose class name starts with ``Random``) pass images through unchanged when the
    model predicts, but their traced graphs keep random operations that ONNX cannot express.
    The copy shares the other layers, and so their weights, with ``model``.

    Parameters
    ----------
    model
        A trained model.

    Returns
    -------
    keras.Model
        ``model`` itself when it is not ``Sequential`` or has no such layer.
    """
    if not isinstance(model, keras.Sequential):
        return model
    kept = [layer for layer in model.layers if not type(layer).__name__.startswith("Random")]
    if len(kept) == len(model.layers):
        return model
    return keras.Sequential([keras.Input(shape=model.input_shape[1:], name="image"), *kept],
                            name=model.name)


def export_onnx(model: keras.Model, path: str | os.PathLike[str], opset_version: int | None = None,
                source_file: str = "") -> Path:
    """Export a Fashion-MNIST classifier to ONNX with ``model.export(path, format="onnx")``.

    The export takes a batch of preprocessed images, float32 of shape ``(n, 28, 28, 1)`` with
    values in [0, 1] (:func:`~fmnist_helpers.preprocess_images`), and returns the ten
    class probabilities of each. Its metadata records the class names and
    :func:`model_digest` of ``model`` (under :data:`SOURCE_DIGEST_KEY`).

    Parameters
    ----------
    model
        A trained classifier whose input is one 28x28x1 image and whose output is one
        probability per class of :data:`~fmnist_helpers.CLASS_NAMES`.
    path
        The ``.onnx`` file to write; its folder must exist.
    opset_version
        The ONNX opset; ``None`` leaves the choice to Keras (tf2onnx's default).
    source_file
        The name of the ``.keras`` file the model was loaded from, recorded under
        :data:`SOURCE_FILE_KEY`; empty when unknown.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If the model's input or output shape does not fit Fashion-MNIST.
    """
    import onnx  # installed with the export's requirements (tf2onnx)

    if tuple(model.input_shape[1:]) != INPUT_SHAPE or tuple(model.output_shape[1:]) != (len(CLASS_NAMES),):
        raise ValueError(
            f"the model takes {model.input_shape} and returns {model.output_shape}; expected "
            f"(None, {', '.join(map(str, INPUT_SHAPE))}) and (None, {len(CLASS_NAMES)}). To fix: "
            f"export a Fashion-MNIST classifier, such as the training chapter's model"
        )
    path = Path(path)
    source = model
    model = inference_model(model)
    signature = [keras.InputSpec(shape=(None, *INPUT_SHAPE), dtype="float32", name="image")]
    with warnings.catch_warnings():
        # Keras' numpy-2 patch of tf2onnx probes np.object, which numpy 2 warns about.
        warnings.filterwarnings("ignore", message=r".*np\.object.*", category=FutureWarning)
        model.export(str(path), format="onnx", input_signature=signature, opset_version=opset_version,
                     verbose=False)
    exported = onnx.load(str(path))
    metadata = {
        SOURCE_DIGEST_KEY: model_digest(source),
        "class_names": json.dumps(list(CLASS_NAMES)),
        "input": "float32 (n, 28, 28, 1): grayscale pixels / 255, light object on black",
        "output": "float32 (n, 10): class probabilities, in the order of class_names",
        "keras_version": keras.__version__,
        SOURCE_FILE_KEY: source_file,
    }
    del exported.metadata_props[:]
    for key, value in metadata.items():
        exported.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(exported)
    onnx.save(exported, str(path))
    return path


def read_export_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """Return the metadata of an ONNX file written by :func:`export_onnx`.

    Parameters
    ----------
    path
        An ``.onnx`` file.

    Returns
    -------
    dict
        Its metadata, keys and values as strings, such as ``{"keras_weights_sha256": "...", "class_names": "[...]"}``.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    """
    import onnx

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no ONNX export at {path}. To fix: run `make book` (or `python -m "
            f"fmnist_helpers.export` after training), which exports the training chapter's model"
        )
    model = onnx.load(str(path), load_external_data=False)
    return {entry.key: entry.value for entry in model.metadata_props}


def export_saved_model(
    model_path: str | os.PathLike[str] | None = None,
    onnx_path: str | os.PathLike[str] = _CHECKOUT / EXPORT_PATH,
    force: bool = False,
) -> bool:
    """Export a saved model to ONNX unless the export already holds the same weights.

    ``make book`` runs this after executing the chapters (``python -m fmnist_helpers.export``)
    and ``make headline`` after training the headline model, so the in-browser page runs the
    book's best model: the headline model when it is saved here
    (:func:`~fmnist_helpers.inference.best_model_path`), else chapter 5's. An export of the
    headline model is kept when only chapter 5's model is here (a fresh clone's ``make book``
    does not retrain the headline model); ``force`` replaces it. The new file is
    written beside the old one and moved into place only when complete; then the book's
    manifest is rewritten (:func:`~fmnist_helpers.book_files.write_manifest`) when the
    export is the book's own.

    Parameters
    ----------
    model_path
        A model saved with ``model.save(path)``; by default the best one in ``artifacts/``.
    onnx_path
        The export; by default :data:`EXPORT_PATH` in this checkout.
    force
        Export even when the recorded weights digest matches, or the export holds the
        headline model and ``model_path`` is another.

    Returns
    -------
    bool
        ``True`` when the export was (re)written, ``False`` when it was up to date or kept.

    Raises
    ------
    FileNotFoundError
        If there is no saved model at ``model_path``.
    """
    from .book_files import write_manifest
    from .evaluation import load_trained_model

    model_path = Path(model_path) if model_path is not None else best_model_path()
    model = load_trained_model(model_path)
    onnx_path = Path(onnx_path)
    if not force and onnx_path.is_file():
        metadata = read_export_metadata(onnx_path)
        if metadata.get(SOURCE_DIGEST_KEY) == model_digest(model):
            return False
        if metadata.get(SOURCE_FILE_KEY) == HEADLINE_MODEL_NAME and model_path.name != HEADLINE_MODEL_NAME:
            return False
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".partial-", suffix=".onnx", dir=onnx_path.parent)
    os.close(handle)
    try:
        export_onnx(model, partial, source_file=model_path.name)
        os.replace(partial, onnx_path)
    finally:
        Path(partial).unlink(missing_ok=True)
    if onnx_path.resolve() == (_CHECKOUT / EXPORT_PATH).resolve():
        write_manifest(_CHECKOUT)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of ``python -m fmnist_helpers.export``; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m fmnist_helpers.export",
        description="Export the trained model to ONNX for the book's in-browser page, "
        "unless the export already holds its weights.",
    )
    parser.add_argument("--model", default=None,
                        help=f"saved .keras model (default: {DEFAULT_MODEL_PATH.parent / HEADLINE_MODEL_NAME} "
                             f"if it exists, else {DEFAULT_MODEL_PATH})")
    parser.add_argument("--output", default=str(_CHECKOUT / EXPORT_PATH), help="ONNX file (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="export even when up to date")
    args = parser.parse_args(argv)
    model = Path(args.model) if args.model else best_model_path()
    try:
        written = export_saved_model(model, args.output, force=args.force)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if written:
        print(f"exported: {args.output} (from {model})")
    elif read_export_metadata(args.output).get(SOURCE_FILE_KEY) == HEADLINE_MODEL_NAME != model.name:
        print(f"kept: {args.output} holds the headline model, which is not saved here; "
              f"`make headline` retrains it (--force exports {model} instead)")
    else:
        print(f"up to date: {args.output} (from {model})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
