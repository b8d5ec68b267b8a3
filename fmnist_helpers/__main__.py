"""Command line: ``data`` finds or fetches and verifies the data; ``predict`` classifies an image."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .data import CLASS_NAMES, fill_keras_cache, find_data_dir, load_data
from .inference import (DEFAULT_MODEL_PATH, HEADLINE_MODEL_NAME, MODEL_SEARCH_DIRS, find_model_path,
                        predict_file)

#: Where ``predict`` looks without ``--model``, as its help says it.
_SEARCHED = ", else ".join(f"{folder}/" for folder in MODEL_SEARCH_DIRS)

#: How ``predict`` picks a model when given no ``--model``: the end of its help.
_MODEL_SEARCH = (
    f"Without --model, it uses the nearest saved model: {HEADLINE_MODEL_NAME} (saved by "
    f"`make headline`), else {DEFAULT_MODEL_PATH.name} (saved by the training chapter), in "
    f"{_SEARCHED} of the working folder. A chapter saves its model in ../artifacts/ of the "
    f"folder it runs in, so it is found from that folder; in a clone, from the top or from "
    f"book/. The model used is named on standard error; when there is none, the error names "
    f"every folder looked in."
)


def _data(args: argparse.Namespace) -> int:
    paths = find_data_dir(args.data_dir, download=not args.no_download)
    (x_train, _), (x_test, _) = load_data(args.data_dir, download=False)
    for name, path in paths.items():
        print(f"{name}: {path}")
    print(f"verified: {len(x_train)} training and {len(x_test)} test images")
    if args.keras_cache:
        for path in fill_keras_cache(paths):
            print(f"copied into Keras' cache: {path}")
    return 0


def _percent(probability: float) -> str:
    """One decimal, but never ``100.0%`` or ``0.0%`` for a probability that is not exactly 1 or 0."""
    if 0 < probability < 0.001:
        return "<0.1%"
    if 0.999 < probability < 1:
        return ">99.9%"
    return f"{probability:.1%}"


def _predict(args: argparse.Namespace) -> int:
    width = max(len(name) for name in CLASS_NAMES)
    model = args.model
    if model is None:  # say which saved model, in which folder, the search picked
        model = find_model_path()
        print(f"model: {model}", file=sys.stderr)
    for name, probability in predict_file(args.image, model, top=args.top, photo=args.photo):
        print(f"{name:<{width}} {_percent(probability):>6}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m fmnist_helpers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="find or fetch the data set, verify it, print where it is")
    data.add_argument("--data-dir", help="folder holding the four files, .gz or uncompressed (default: search)")
    data.add_argument("--no-download", action="store_true", help="fail instead of downloading")
    data.add_argument(
        "--keras-cache",
        action="store_true",
        help="also copy the files into Keras' cache, so keras.datasets.fashion_mnist works offline",
    )
    data.set_defaults(run=_data)
    predict = commands.add_parser(
        "predict",
        help="classify a 28x28 image (light object on dark) with the trained model",
        description=f"Classify a 28x28 image (light object on dark) with a saved model. "
        f"{_MODEL_SEARCH}",
    )
    predict.add_argument("image", help="image file, such as book/images/test_image_0.png")
    predict.add_argument(
        "--model",
        help=f"a saved model; always used when given (default: {HEADLINE_MODEL_NAME}, else "
        f"{DEFAULT_MODEL_PATH.name}, in {_SEARCHED})",
    )
    predict.add_argument(
        "--top", type=int, default=3, help="how many classes to print, 1..10 (default: %(default)s)"
    )
    predict.add_argument(
        "--photo",
        action="store_true",
        help="IMAGE is a photo of one dark object on a light background, of any size: "
        "grayscale, invert, crop and centre it first",
    )
    predict.set_defaults(run=_predict)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError) as error:  # DatasetError, a missing or unreadable file, a bad image
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
