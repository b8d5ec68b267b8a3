"""Run the training chapter over a grid of recipes with papermill and collect the results.

Usage: ``python -m fmnist_helpers.sweep [--quick] [--runs NAME ...]``. Each run's executed
notebook and artifacts go to ``results/sweep/`` (ignored by git); the collected table goes
to ``book/data/experiments.csv`` and the learning curves to ``book/data/histories.json``,
which the experiments chapter reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .book import BOOK_DIR, execute_chapter
from .book_files import write_manifest
from .recipes import DEFAULT_RECIPE, HEADLINE_RECIPE, SEED_RECIPE, Recipe

__all__ = ["DATA_DIR", "RESULTS_DIR", "SWEEP", "collect_run", "run_classical_baseline", "run_sweep",
           "score_with_flips"]

#: Where each run's notebook and artifacts go (ignored by git).
RESULTS_DIR = BOOK_DIR.parent / "results" / "sweep"
#: Where the collected table goes (committed: the experiments chapter reads it).
DATA_DIR = BOOK_DIR / "data"

#: The runs: the seed's recipe, the seed's CNN with a modern optimizer, the MLP baseline,
#: the book's default, a small grid of optimizer x learning rate on the default model, and
#: the headline model, with and without its flipped training images. The seed recipe runs
#: 3 of its 20 epochs: its learning-rate schedule does not depend on the run's length, so
#: these are exactly its first 3 epochs, at a seventh of the cost (an epoch at batch size
#: 32 takes over a minute on 2 CPU cores).
SWEEP: dict[str, Recipe] = {
    "seed recipe": dataclasses.replace(SEED_RECIPE, epochs=3),
    "seed CNN + Adam": dataclasses.replace(DEFAULT_RECIPE, model_name="seed_cnn", learning_rate=1e-3,
                                           batch_size=128, epochs=3),
    "MLP baseline": dataclasses.replace(DEFAULT_RECIPE, model_name="mlp", learning_rate=1e-3,
                                        batch_size=128, epochs=10),
    "default recipe": DEFAULT_RECIPE,
    **{
        f"fast CNN, {optimizer} {rate:g}, 3 epochs": dataclasses.replace(
            DEFAULT_RECIPE, optimizer_name=optimizer, learning_rate=rate, epochs=3
        )
        for optimizer in ("adam", "sgd")
        for rate in (1e-3, 1e-2)
    },
    "headline model": HEADLINE_RECIPE,
    "headline model without flips": dataclasses.replace(HEADLINE_RECIPE, model_name="wide_cnn"),
}


def _run_dir(name: str) -> Path:
    return RESULTS_DIR / name.replace(" ", "_").replace(",", "").replace("+", "plus")


def collect_run(name: str, recipe: Recipe, notebook: Path, artifacts: Path) -> dict[str, Any]:
    """Read one executed run: its recipe, validation and test accuracy, and training time.

    The training time is papermill's record of how long the cell tagged ``training`` ran.

    Parameters
    ----------
    name
        The run's name in :data:`SWEEP`.
    recipe
        Its recipe.
    notebook
        The executed training chapter.
    artifacts
        The folder its ``metrics.json`` and ``history.json`` were saved in.

    Returns
    -------
    dict
        One row of the experiments table.
    """
    cells = json.loads(notebook.read_text())["cells"]
    training = next(c for c in cells if "training" in c["metadata"].get("tags", []))
    metrics = json.loads((artifacts / "metrics.json").read_text())
    return {
        "run": name,
        "model": recipe.model_name,
        "optimizer": recipe.optimizer_name,
        "learning rate": recipe.learning_rate,
        "batch size": recipe.batch_size,
        "epochs": recipe.epochs,
        "validation accuracy": metrics["val_accuracy"],
        "test accuracy": metrics["test_accuracy"],
        "training seconds": training["metadata"]["papermill"]["duration"],
    }


def score_with_flips(model_path: Path) -> dict[str, float]:
    """Test accuracy and prediction time of a saved model, plain and with flip test-time augmentation.

    Parameters
    ----------
    model_path
        A model saved by the training chapter.

    Returns
    -------
    dict
        ``"test accuracy, flip TTA"``, ``"predict seconds"`` and ``"predict seconds, flip TTA"``
        (all 10,000 test images, on this machine).
    """
    import numpy as np

    from .data import load_data
    from .evaluation import load_trained_model, predict_with_flips
    from .preprocessing import preprocess_images

    _, (x_test, y_test) = load_data()
    x_test = preprocess_images(x_test)
    model = load_trained_model(model_path)
    model.predict(x_test[:1000], batch_size=1000, verbose=0)  # build the predict function first
    start = time.perf_counter()
    model.predict(x_test, batch_size=1000, verbose=0)
    plain_seconds = time.perf_counter() - start
    start = time.perf_counter()
    probabilities = predict_with_flips(model, x_test)
    flip_seconds = time.perf_counter() - start
    return {
        "test accuracy, flip TTA": float(np.mean(probabilities.argmax(axis=1) == y_test)),
        "predict seconds": plain_seconds,
        "predict seconds, flip TTA": flip_seconds,
    }


def run_classical_baseline(train_size: int = 60000, max_iter: int = 300) -> dict[str, Any]:
    """Fit scikit-learn's logistic regression on raw pixels, on the networks' training split.

    It fits the same images as chapter 5 (the validation split held out), is ranked by its
    validation accuracy, and is scored once on the test set.

    Parameters
    ----------
    train_size
        Fit on at most this many images of the training split.
    max_iter
        The solver's iteration limit; the row says whether it converged within it.

    Returns
    -------
    dict
        One row of the experiments table.
    """
    from sklearn.linear_model import LogisticRegression

    from .data import load_data
    from .preprocessing import split_validation

    (x_train, y_train), (x_test, y_test) = load_data()
    (x_fit, y_fit), (x_val, y_val) = split_validation(x_train, y_train, validation_size=0.1,
                                                      seed=DEFAULT_RECIPE.seed)
    x_fit, y_fit = x_fit[:train_size], y_fit[:train_size]

    def pixels(images: Any) -> Any:
        return images.reshape(len(images), -1) / 255.0

    start = time.perf_counter()
    classifier = LogisticRegression(max_iter=max_iter).fit(pixels(x_fit), y_fit)
    seconds = time.perf_counter() - start
    iterations = int(classifier.n_iter_[0])
    return {
        "run": "logistic regression (scikit-learn)", "model": "linear, on pixels",
        "optimizer": "lbfgs", "learning rate": float("nan"), "batch size": len(x_fit),
        "epochs": iterations, "validation accuracy": classifier.score(pixels(x_val), y_val),
        "test accuracy": classifier.score(pixels(x_test), y_test), "training seconds": seconds,
        "converged": iterations < max_iter,
    }


def run_sweep(names: Sequence[str] = tuple(SWEEP), quick: bool = False) -> pd.DataFrame:
    """Execute the training chapter once per run with papermill, then collect the table.

    Parameters
    ----------
    names
        Runs of :data:`SWEEP` to execute. All of them (the default) also fit the classical
        baseline and rewrite the table; a subset replaces only its own rows and curves.
    quick
        One epoch on 2,000 images per run, written to ``results/`` only (not the book).

    Returns
    -------
    pandas.DataFrame
        One row per run, plus the classical baseline.
    """
    rows, histories = [], {}
    for name in names:
        recipe = dataclasses.replace(SWEEP[name], epochs=1) if quick else SWEEP[name]
        parameters = dict(dataclasses.asdict(recipe), profile="sweep", min_test_accuracy=0.0,
                          train_size=2000 if quick else 60000)
        folder = _run_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"[sweep] {name}: {recipe}", flush=True)
        execute_chapter("5_train", output_dir=folder, artifacts_dir=folder, parameters=parameters)
        row = collect_run(name, recipe, folder / "5_train.ipynb", folder)
        if name == "headline model" and not quick:
            row.update(score_with_flips(folder / "model.keras"))
        rows.append(row)
        histories[name] = json.loads((folder / "history.json").read_text())
    every_run = list(names) == list(SWEEP)
    if every_run:
        print("[sweep] logistic regression", flush=True)
        rows.append(run_classical_baseline(2000 if quick else 60000))
    target = RESULTS_DIR if quick else DATA_DIR
    target.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    if not every_run and (target / "experiments.csv").is_file():
        # Re-running some runs: replace their rows and curves, keep the others.
        previous = pd.read_csv(target / "experiments.csv")
        table = pd.concat([previous[~previous["run"].isin(table["run"])], table])
        order = {name: index for index, name in enumerate([*SWEEP, *previous["run"]])}
        table = table.sort_values("run", key=lambda runs: runs.map(order), kind="stable")
        histories = {**json.loads((target / "histories.json").read_text()), **histories}
    table.to_csv(target / "experiments.csv", index=False)
    (target / "histories.json").write_text(json.dumps(histories))
    if not quick:
        write_manifest()  # chapters run alone fetch these files and check them against it
    print(table.to_string(index=False))
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m fmnist_helpers.sweep", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 epoch on 2,000 images per run")
    parser.add_argument("--runs", nargs="+", choices=list(SWEEP), default=list(SWEEP))
    args = parser.parse_args(argv)
    run_sweep(args.runs, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
