"""Run the training chapter over a grid of recipes with papermill and collect the results.

Usage: ``python -m fmnist_helpers.sweep [--quick] [--runs NAME ...]``. Each run's executed
notebook and artifacts go to ``results/sweep/`` (ignored by git); the collected table goes
to ``book/data/experiments.csv`` and the learning curves to ``book/data/histories.json``,
which the experiments chapter reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .book import BOOK_DIR, PROFILES

__all__ = ["DATA_DIR", "RESULTS_DIR", "SWEEP", "collect_run", "run_classical_baseline", "run_sweep"]

#: Where each run's notebook and artifacts go (ignored by git).
RESULTS_DIR = BOOK_DIR.parent / "results" / "sweep"
#: Where the collected table goes (committed: the experiments chapter reads it).
DATA_DIR = BOOK_DIR / "data"

_DEFAULT = {key: PROFILES["full"][key] for key in
            ("model_name", "optimizer_name", "learning_rate", "batch_size", "epochs")}

#: The runs: the seed's recipe, the seed's CNN with a modern optimizer, the MLP baseline,
#: the book's default, and a small grid of optimizer x learning rate on the default model.
#: The seed recipe runs 5 of its 20 epochs: its learning-rate schedule does not depend on
#: the run's length, so these are exactly its first 5 epochs, at a quarter of the cost
#: (an epoch at batch size 32 takes minutes on 2 CPU cores).
SWEEP: dict[str, dict[str, Any]] = {
    "seed recipe": {"model_name": "seed_cnn", "optimizer_name": "seed_sgd",
                    "learning_rate": 0.001, "batch_size": 32, "epochs": 5},
    "seed CNN + Adam": {"model_name": "seed_cnn", "optimizer_name": "adam",
                        "learning_rate": 1e-3, "batch_size": 128, "epochs": 3},
    "MLP baseline": {"model_name": "mlp", "optimizer_name": "adam",
                     "learning_rate": 1e-3, "batch_size": 128, "epochs": 10},
    "default recipe": dict(_DEFAULT),
    **{
        f"fast CNN, {optimizer} {rate:g}, 3 epochs": {
            "model_name": "fast_cnn", "optimizer_name": optimizer, "learning_rate": rate,
            "batch_size": 128, "epochs": 3,
        }
        for optimizer in ("adam", "sgd")
        for rate in (1e-3, 1e-2)
    },
}


def _run_dir(name: str) -> Path:
    return RESULTS_DIR / name.replace(" ", "_").replace(",", "").replace("+", "plus")


def collect_run(name: str, parameters: dict[str, Any], notebook: Path, artifacts: Path) -> dict[str, Any]:
    """Read one executed run: its parameters, test scores, epochs and training time.

    The training time is papermill's record of how long the cell tagged ``training`` ran.

    Parameters
    ----------
    name
        The run's name in :data:`SWEEP`.
    parameters
        Its parameters.
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
        "model": parameters["model_name"],
        "optimizer": parameters["optimizer_name"],
        "learning rate": parameters["learning_rate"],
        "batch size": parameters["batch_size"],
        "epochs": parameters["epochs"],
        "test accuracy": metrics["test_accuracy"],
        "training seconds": training["metadata"]["papermill"]["duration"],
    }


def run_classical_baseline(train_size: int = 60000) -> dict[str, Any]:
    """Fit scikit-learn's logistic regression on raw pixels; score it on the test set.

    Parameters
    ----------
    train_size
        How many training images to fit on.

    Returns
    -------
    dict
        One row of the experiments table.
    """
    from sklearn.linear_model import LogisticRegression

    from .data import load_data

    (x_train, y_train), (x_test, y_test) = load_data()
    features = x_train[:train_size].reshape(train_size, -1) / 255.0
    start = time.perf_counter()
    classifier = LogisticRegression(max_iter=200).fit(features, y_train[:train_size])
    seconds = time.perf_counter() - start
    accuracy = classifier.score(x_test.reshape(len(x_test), -1) / 255.0, y_test)
    return {
        "run": "logistic regression (scikit-learn)", "model": "linear, on pixels",
        "optimizer": "lbfgs", "learning rate": float("nan"), "batch size": train_size,
        "epochs": classifier.n_iter_[0], "test accuracy": accuracy, "training seconds": seconds,
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
    import papermill

    rows, histories = [], {}
    for name in names:
        parameters = dict(SWEEP[name], profile="sweep", seed=0, min_test_accuracy=0.0)
        if quick:
            parameters.update(epochs=1, train_size=2000)
        folder = _run_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"[sweep] {name}: {SWEEP[name]}", flush=True)
        papermill.execute_notebook(
            BOOK_DIR / "5_train.ipynb",
            folder / "5_train.ipynb",
            parameters=dict(parameters, artifacts_dir=str(folder)),
            cwd=BOOK_DIR,
            kernel_name="python3",
            progress_bar=True,
        )
        rows.append(collect_run(name, parameters, folder / "5_train.ipynb", folder))
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
