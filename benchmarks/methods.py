"""Measure the speed appendix's methods: each one change of the default recipe, paired by seed.

For each seed (0 to 4 by default), the default recipe and then every method of
:data:`fmnist_helpers.experiments.METHODS` train once each, every run in a fresh Python
process through the package's ``train_model`` (so no run inherits another's traced graphs
or memory). A run's **time** is its training seconds (``EpochLogger``: validation scoring
is not counted) and its **accuracy** the final model's accuracy on the seed's own 6,000
validation images (after a weight average replaces the weights, for that method). The test
set is never read.

Each method is compared with the default run of the same seed: its accuracy difference
with a paired t interval (``fmnist_helpers.experiments.compare``) and Holm's correction
over the methods, and its time as the median over seeds of its seconds over the default's,
run minutes apart.

    python benchmarks/methods.py                 # about 25 minutes on 2 cores
    python benchmarks/methods.py --seeds 0 1 --methods "default recipe" "4 epochs"

Writes benchmarks/results/methods.json and .md (or --output-dir).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import fmnist_helpers  # noqa: F401 - first: it imports TensorFlow without start-up log lines
from fmnist_helpers.book_files import write_manifest
from fmnist_helpers.experiments import METHODS, SEEDS, Comparison, compare, holm

HERE = Path(__file__).resolve().parent
BASE = "default recipe"


def run_method(name: str, seed: int) -> dict[str, Any]:
    """Train one method with one seed in this process; its seconds and validation accuracy."""
    import dataclasses

    import numpy as np

    import fmnist_helpers as fh

    (x_train, y_train), _ = fh.load_data()
    (x_fit, y_fit), (x_val, y_val) = fh.split_validation(
        fh.preprocess_images(x_train), y_train, validation_size=0.1, seed=seed)
    recipe = dataclasses.replace(METHODS[name], seed=seed)
    timer = fh.EpochLogger(file=sys.stderr)
    history = fh.train_model(recipe, x_fit, y_fit, callbacks=[timer], log_epochs=False)
    predicted = history.model.predict(x_val, batch_size=1000, verbose=0).argmax(axis=1)
    return {"run": name, "seed": seed, "seconds": sum(timer.seconds),
            "cpu seconds": sum(timer.cpu_seconds),
            "validation accuracy": float(np.mean(predicted == y_val))}


def _run_process(name: str, seed: int) -> dict[str, Any]:
    """:func:`run_method` in a new Python process."""
    completed = subprocess.run([sys.executable, __file__, "--run-one", name, str(seed)],
                               stdout=subprocess.PIPE, text=True, check=True)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    print(f"{name}, seed {seed}: {result['validation accuracy']:.2%} in {result['seconds']:.1f} s",
          file=sys.stderr, flush=True)
    return result


def summarize(runs: list[dict[str, Any]], methods: list[str]) -> list[dict[str, Any]]:
    """One row per method: the paired accuracy comparison and the median time ratio."""
    import pandas as pd

    table = pd.DataFrame(runs)
    variants = tuple(name for name in methods if name != BASE)
    comparison = Comparison("methods", BASE, variants, recipes=METHODS)
    rows = compare(table, comparison).to_dict("records")
    for row, adjusted in zip(rows, holm([row["p value"] for row in rows])):
        seconds = table.pivot(index="seed", columns="run", values="seconds")
        cpu = table.pivot(index="seed", columns="run", values="cpu seconds")
        row.update({
            "Holm p value": adjusted,
            "holds after Holm": row["verdict"] != "undecided" and adjusted < 0.05,
            "time ratio": float((seconds[row["variant"]] / seconds[BASE]).median()),
            "CPU-time ratio": float((cpu[row["variant"]] / cpu[BASE]).median()),
        })
    return rows


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Measured {report['date']}: each method against the default recipe on the same seeds "
        f"({', '.join(map(str, report['seeds']))}), validation accuracy, 95% paired t intervals.",
        "",
        "| method | change | default | method | difference (points) | Holm p | verdict | "
        "time ratio | CPU-time ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["methods"]:
        lines.append(
            f"| {row['variant']} | {row['change']} | {row['base mean']:.2%} | {row['variant mean']:.2%} | "
            f"{100 * row['difference']:+.2f} ± {100 * row['margin']:.2f} | {row['Holm p value']:.3f} | "
            f"{row['verdict']} | {row['time ratio']:.2f} | {row['CPU-time ratio']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="*", type=int, default=list(SEEDS))
    parser.add_argument("--methods", nargs="*", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    parser.add_argument("--run-one", nargs=2, metavar=("METHOD", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        name, seed = args.run_one
        print(json.dumps(run_method(name, int(seed))))
        return 0
    methods = [BASE, *(name for name in args.methods if name != BASE)]
    start = time.perf_counter()
    runs = [_run_process(name, seed) for seed in args.seeds for name in methods]
    report = {"date": datetime.date.today().isoformat(), "seeds": args.seeds, "runs": runs,
              "methods": summarize(runs, methods),
              "minutes": (time.perf_counter() - start) / 60}
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "methods.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / "methods.md").write_text(markdown(report))
    if args.output_dir.resolve() == (HERE / "results").resolve():
        write_manifest()
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
