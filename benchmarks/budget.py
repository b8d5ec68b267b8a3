"""The best model's accuracy within budgets of original-recipe epochs (target 2's curve).

Trains the headline recipe (``fmnist_helpers.recipes.HEADLINE_RECIPE``: the wide CNN on
flipped and shifted images) with as many epochs as fit each budget, through the package's
``train_model``, one run per budget and seed, each in its own process. A budget in
original-recipe epochs becomes epochs of the best model by ``--epochs-per-original``, the
ratio the paired benchmark measured (``benchmarks/results/train_speed.json``: the best
model's 20 epochs over original-recipe epochs). Reports each run's final validation and
test accuracy and its training seconds; nothing here chooses anything.

    python benchmarks/budget.py --budgets 2 5 10 20 --seeds 0

Writes benchmarks/results/budget.json and .md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import fmnist_helpers  # noqa: F401 - first: it imports TensorFlow without start-up log lines
from fmnist_helpers.recipes import HEADLINE_RECIPE

HERE = Path(__file__).resolve().parent


def run_one(epochs: int, seed: int) -> dict[str, Any]:
    """Train the headline recipe for ``epochs`` with ``seed`` in this process."""
    import numpy as np

    import fmnist_helpers as fh

    (x_train, y_train), (x_test, y_test) = fh.load_data()
    (x_fit, y_fit), (x_val, y_val) = fh.split_validation(
        fh.preprocess_images(x_train), y_train, validation_size=0.1, seed=seed)
    timer = fh.EpochLogger(file=sys.stderr)
    recipe = dataclasses.replace(HEADLINE_RECIPE, epochs=epochs, seed=seed)
    model = fh.train_model(recipe, x_fit, y_fit, callbacks=[timer]).model

    def accuracy(images: np.ndarray, labels: np.ndarray) -> float:
        predicted = model.predict(images, batch_size=1000, verbose=0).argmax(axis=1)
        return float(np.mean(predicted == labels))

    return {"epochs": epochs, "seed": seed, "seconds": sum(timer.seconds),
            "validation accuracy": accuracy(x_val, y_val),
            "test accuracy": accuracy(fh.preprocess_images(x_test), y_test)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", nargs="+", type=float, default=[2, 5, 10, 20],
                        help="budgets in original-recipe epochs")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs-per-original", type=float, default=None,
                        help="epochs of the best model per original-recipe epoch (default: "
                             "from benchmarks/results/train_speed.json)")
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    parser.add_argument("--run-one", nargs=2, type=int, metavar=("EPOCHS", "SEED"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        print(json.dumps(run_one(*args.run_one)))
        return 0
    per_original = args.epochs_per_original
    if per_original is None:
        paired = json.loads((HERE / "results" / "train_speed.json").read_text())["headline_paired"]
        per_original = paired["candidate"]["epochs"] / paired["median_ratio"]
    runs = []
    for budget in args.budgets:
        epochs = max(1, int(budget * per_original))
        for seed in args.seeds:
            completed = subprocess.run([sys.executable, __file__, "--run-one", str(epochs), str(seed)],
                                       stdout=subprocess.PIPE, text=True, check=True)
            run = dict(json.loads(completed.stdout.strip().splitlines()[-1]), budget=budget)
            print(f"budget {budget:g}: {epochs} epochs, seed {seed}: validation "
                  f"{run['validation accuracy']:.2%}, test {run['test accuracy']:.2%}",
                  file=sys.stderr, flush=True)
            runs.append(run)
    report = {"date": datetime.date.today().isoformat(), "epochs_per_original": per_original,
              "runs": runs}
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "budget.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"Measured {report['date']}: the best model's recipe with the epochs that fit each "
             f"budget ({per_original:.2f} epochs per original-recipe epoch).", "",
             "| budget (original-recipe epochs) | epochs | seed | seconds | validation | test |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {run['budget']:g} | {run['epochs']} | {run['seed']} | {run['seconds']:.0f} | "
              f"{run['validation accuracy']:.2%} | {run['test accuracy']:.2%} |" for run in runs]
    (args.output_dir / "budget.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
