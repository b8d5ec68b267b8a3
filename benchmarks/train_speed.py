"""Time-to-accuracy benchmark: how fast does each training recipe reach 92% test accuracy?

Each recipe trains in its own process (a fresh Keras, backend and precision policy) on the
full training set and is scored on the test set after every epoch; evaluation time is not
counted as training time. Results are compared with the seed post's recipe measured in the
same run, and with a matmul peak measured in the same run, because absolute times on shared
machines drift.

    python benchmarks/train_speed.py             # the default set, about 20 minutes on 2 cores
    python benchmarks/train_speed.py --quick     # 1 epoch of each on 6,000 images
    python benchmarks/train_speed.py --recipes seed default fast_cnn_bn

Writes benchmarks/results/train_speed.json and .md (or --output-dir).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fmnist_helpers.book import PROFILES

TARGET_ACCURACY = 0.92
HERE = Path(__file__).resolve().parent

#: The book's default recipe, read from its `full` profile so the two cannot drift apart.
_DEFAULT = {
    "model": PROFILES["full"]["model_name"], "optimizer": PROFILES["full"]["optimizer_name"],
    "learning_rate": PROFILES["full"]["learning_rate"], "batch_size": PROFILES["full"]["batch_size"],
    "epochs": PROFILES["full"]["epochs"], "precision": "float32", "backend": "tensorflow",
}

#: Recipes: model, optimizer, peak learning rate, batch size, epochs, precision, backend.
#: The JAX recipe needs `pip install jax`, which requirements.txt leaves out; without it
#: that recipe fails in its own process and is reported as skipped.
RECIPES: dict[str, dict[str, Any]] = {
    "seed": {"model": "seed_cnn", "optimizer": "seed_sgd", "learning_rate": 0.001,
             "batch_size": 32, "epochs": 2, "precision": "float32", "backend": "tensorflow",
             "note": "the seed post's recipe (it ran 20 epochs; 2 here to bound the run)"},
    "seed_cnn_adam": {"model": "seed_cnn", "optimizer": "adam", "learning_rate": 1e-3,
                      "batch_size": 128, "epochs": 4, "precision": "float32",
                      "backend": "tensorflow", "note": "the seed's CNN with Adam"},
    "default": dict(_DEFAULT, note="the book's default profile"),
    "fast_cnn_lr1e-2": dict(_DEFAULT, learning_rate=1e-2, epochs=5,
                            note="the default CNN, 5x the default's peak rate, 5 epochs"),
    "fast_cnn_bn": dict(_DEFAULT, model="fast_cnn_bn", learning_rate=4e-3, batch_size=256, epochs=6,
                        note="with batch normalization"),
    "fast_cnn_bs256": dict(_DEFAULT, learning_rate=3e-3, batch_size=256, note="larger batches"),
    "fast_cnn_bf16": dict(_DEFAULT, epochs=1, precision="mixed_bfloat16",
                          note="bfloat16 mixed precision (speed only)"),
    "fast_cnn_jax": dict(_DEFAULT, epochs=1, backend="jax", note="JAX backend (speed only)"),
}
DEFAULT_SET = ("seed", "default", "fast_cnn_lr1e-2", "fast_cnn_bn", "fast_cnn_bf16", "fast_cnn_jax")


def forward_flops(model: Any) -> int:
    """Floating-point operations of one image's forward pass (convolutions and dense layers)."""
    import keras

    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, rows, cols, filters = layer.output.shape
            kernel_rows, kernel_cols, channels, _ = layer.kernel.shape
            flops += 2 * rows * cols * kernel_rows * kernel_cols * channels * filters
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return flops


def run_recipe(recipe: dict[str, Any], train_size: int) -> dict[str, Any]:
    """Train one recipe in this process; return its per-epoch times and accuracies."""
    import fmnist_helpers as fh  # first: it imports TensorFlow without start-up log lines
    import keras

    if recipe["precision"] != "float32":
        keras.mixed_precision.set_global_policy(recipe["precision"])
    (x_train, y_train), (x_test, y_test) = fh.load_data()
    x_train, y_train = fh.preprocess_images(x_train[:train_size]), y_train[:train_size]
    x_test = fh.preprocess_images(x_test)
    fh.seed_everything(0)
    model = fh.build_model(recipe["model"])
    steps = recipe["epochs"] * -(-len(x_train) // recipe["batch_size"])
    optimizer = fh.make_optimizer(recipe["optimizer"], recipe["learning_rate"], total_steps=steps)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epoch_seconds, test_accuracy = [], []
    for _ in range(recipe["epochs"]):
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=recipe["batch_size"], epochs=1, verbose=0, shuffle=True)
        epoch_seconds.append(time.perf_counter() - start)
        test_accuracy.append(float(model.evaluate(x_test, y_test, batch_size=1000, verbose=0)[1]))
        print(f"  epoch {len(epoch_seconds)}: {epoch_seconds[-1]:.1f} s, test accuracy "
              f"{test_accuracy[-1]:.4f}", file=sys.stderr, flush=True)
    return {
        "epoch_seconds": epoch_seconds,
        "test_accuracy": test_accuracy,
        "train_images": len(x_train),
        "train_flops_per_image": 3 * forward_flops(model),  # forward + backward ~ 3 forwards
        "backend": keras.backend.backend(),
    }


def matmul_peak(dtype: str, size: int = 2048, repeats: int = 10) -> float:
    """Best GFLOP/s of a size x size matmul in ``dtype`` with TensorFlow."""
    import tensorflow as tf

    a = tf.random.normal((size, size), dtype=tf.float32)
    a = tf.cast(a, dtype)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tf.linalg.matmul(a, a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def summarize(name: str, recipe: dict[str, Any], result: dict[str, Any], peak: float) -> dict[str, Any]:
    seconds = result["epoch_seconds"]
    elapsed = [sum(seconds[: i + 1]) for i in range(len(seconds))]
    reached = next((t for t, a in zip(elapsed, result["test_accuracy"]) if a >= TARGET_ACCURACY), None)
    # Steady-state epoch time: skip the first epoch (graph tracing) when there are more.
    steady = seconds[1:] if len(seconds) > 1 else seconds
    seconds_per_epoch = sum(steady) / len(steady)
    images_per_second = result["train_images"] / seconds_per_epoch
    gflops = images_per_second * result["train_flops_per_image"] / 1e9
    return {
        "recipe": name, **recipe, **result,
        "seconds_per_epoch": seconds_per_epoch,
        "images_per_second": images_per_second,
        "seconds_to_target": reached,
        "final_test_accuracy": result["test_accuracy"][-1],
        "achieved_gflops": gflops,
        "fraction_of_peak": gflops / peak,
    }


def markdown(report: dict[str, Any]) -> str:
    seed = next((r for r in report["recipes"] if r["recipe"] == "seed"), None)
    lines = [
        f"Measured {report['date']} on {report['machine']['cpu']} ({report['machine']['cores']} cores), "
        f"TensorFlow {report['versions']['tensorflow']}, Keras {report['versions']['keras']}. "
        f"Matmul peak in the same run: {report['peak_gflops']['float32']:.0f} GFLOP/s float32, "
        f"{report['peak_gflops']['bfloat16']:.0f} GFLOP/s bfloat16. Training set: "
        f"{report['train_size']:,} images; test accuracy after every epoch.",
        "",
        "| recipe | model | optimizer | batch | precision | backend | epochs | s/epoch | images/s "
        "| speed vs seed | time to 92% | final test acc. | % of fp32 peak |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["recipes"]:
        ratio = f"{seed['seconds_per_epoch'] / row['seconds_per_epoch']:.2f}x" if seed else ""
        reached = f"{row['seconds_to_target']:.0f} s" if row["seconds_to_target"] else "not reached"
        lines.append(
            f"| {row['recipe']} | {row['model']} | {row['optimizer']} {row['learning_rate']:g} | "
            f"{row['batch_size']} | {row['precision']} | {row['backend']} | {row['epochs']} | "
            f"{row['seconds_per_epoch']:.1f} | {row['images_per_second']:,.0f} | {ratio} | {reached} | "
            f"{row['final_test_accuracy']:.2%} | {row['fraction_of_peak']:.0%} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), default=list(DEFAULT_SET))
    parser.add_argument("--quick", action="store_true", help="1 epoch each on 6,000 images")
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)  # internal: one recipe, JSON on stdout
    parser.add_argument("--train-size", type=int, default=60000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        print(json.dumps(run_recipe(json.loads(args.run_one), args.train_size)))
        return 0

    import fmnist_helpers  # noqa: F401 - imports TensorFlow without start-up log lines
    import keras
    import tensorflow as tf

    train_size = 6000 if args.quick else args.train_size
    peak = {dtype: matmul_peak(dtype) for dtype in ("float32", "bfloat16")}
    rows = []
    for name in args.recipes:
        recipe = dict(RECIPES[name], epochs=1) if args.quick else dict(RECIPES[name])
        print(f"{name}: {recipe['note']}", file=sys.stderr, flush=True)
        env = dict(os.environ, KERAS_BACKEND=recipe["backend"])
        completed = subprocess.run(
            [sys.executable, __file__, "--run-one", json.dumps(recipe), "--train-size", str(train_size)],
            env=env, stdout=subprocess.PIPE, text=True,
        )
        if completed.returncode != 0:
            print(f"{name}: failed (exit {completed.returncode}); skipped", file=sys.stderr)
            continue
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        rows.append(summarize(name, recipe, result, peak["float32"]))
    # Measure the peak again after training and keep the best: a busy moment lowers it.
    peak = {dtype: max(peak[dtype], matmul_peak(dtype)) for dtype in peak}
    rows = [dict(row, fraction_of_peak=row["achieved_gflops"] / peak["float32"]) for row in rows]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "quick": args.quick, "train_size": train_size, "target_accuracy": TARGET_ACCURACY,
        "peak_gflops": peak, "recipes": rows,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stem = "train_speed_quick" if args.quick else "train_speed"
    (args.output_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / f"{stem}.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
