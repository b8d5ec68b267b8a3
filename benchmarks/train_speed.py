"""Time-to-accuracy benchmark: how fast does each training recipe reach 92% test accuracy?

Two kinds of rows, each run in its own process (a fresh Keras, backend, precision policy
and TensorFlow runtime):

* Accuracy runs train a recipe on the full training set and score the test set after every
  epoch (evaluation time is not counted as training time): time per epoch, test accuracy per
  epoch, time and epochs to reach 92%, final accuracy.
* Speed probes change one setting of the default recipe (threads, oneDNN, determinism, input
  pipeline, batch size, XLA, precision, Keras backend) and only time training: 8 short epochs
  on a subset, the first (graph tracing) dropped and the fastest of the others kept, because
  a shared machine's speed jumps between levels from one moment to the next. They are
  compared with the unchanged default probed the same way in the same run.

Times are reported as ratios too (against the seed recipe, against the default probe, and
against a matmul peak measured in the same run), because absolute times on shared machines
drift.

    python benchmarks/train_speed.py             # the default set, about 15 minutes on 2 cores
    python benchmarks/train_speed.py --quick     # a tenth of the images, 1 epoch per run
    python benchmarks/train_speed.py --recipes seed default probe_default probe_torch

The JAX and PyTorch probes need `pip install -r requirements-benchmark.txt` (``make
benchmark`` does it); without them those probes fail in their own process and are reported
as skipped. Writes benchmarks/results/train_speed.json and .md (or --output-dir).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import fmnist_helpers  # noqa: F401 - first: it imports TensorFlow without start-up log lines
from fmnist_helpers.book_files import write_manifest
from fmnist_helpers.recipes import DEFAULT_RECIPE, SEED_RECIPE, Recipe

import keras  # noqa: E402 - after fmnist_helpers; the backend comes from KERAS_BACKEND

TARGET_ACCURACY = 0.92
FULL_EPOCH_IMAGES = 60000
#: Images per epoch of a speed probe, unless the probe says otherwise.
PROBE_IMAGES = 6000
#: Epochs of a speed probe: the first traces the graph and is dropped; the best other counts.
PROBE_EPOCHS = 8
HERE = Path(__file__).resolve().parent

def _from_recipe(recipe: Recipe) -> dict[str, Any]:
    """A benchmark row's settings from one of the book's recipes."""
    return {"model": recipe.model_name, "optimizer": recipe.optimizer_name,
            "learning_rate": recipe.learning_rate, "batch_size": recipe.batch_size,
            "epochs": recipe.epochs, "precision": "float32", "backend": "tensorflow"}


#: The book's default recipe, read from fmnist_helpers.recipes so the two cannot drift apart.
_DEFAULT: dict[str, Any] = _from_recipe(DEFAULT_RECIPE)
#: Settings a recipe may change, with their defaults (what the book itself uses).
SETTINGS: dict[str, Any] = {
    "model_options": {},  # keyword arguments for fmnist_helpers.build_fast_cnn
    "threads": None,  # [intra-op, inter-op] TensorFlow threads; None: TensorFlow's choice
    "onednn": True,  # TF_ENABLE_ONEDNN_OPTS
    "deterministic": True,  # tf.config.experimental.enable_op_determinism()
    "input": "numpy",  # "numpy" (model.fit on arrays) or "tf.data" (cached, prefetched)
    "jit_compile": False,  # XLA; Keras turns it off on CPU-only machines by default
    "speed_only": False,  # a speed probe: time training only, on a subset
    "train_size": None,  # images per epoch of a speed probe (default PROBE_IMAGES)
}


def _probe(note: str, **changes: Any) -> dict[str, Any]:
    return dict(_DEFAULT, epochs=PROBE_EPOCHS, speed_only=True, note=note, **changes)


#: Recipes: the accuracy runs first, then the speed probes of the default recipe.
RECIPES: dict[str, dict[str, Any]] = {
    "seed": dict(_from_recipe(SEED_RECIPE), epochs=3,
                 note="the seed post's recipe (it ran 20 epochs; 3 here to bound the run; "
                      "the epochs after the first give its time per epoch)"),
    "default": dict(_DEFAULT, note="the book's default recipe"),
    "batch_128": dict(_DEFAULT, batch_size=128, note="batches of 128 instead of 256"),
    "lr_3e-3": dict(_DEFAULT, learning_rate=3e-3, note="peak learning rate 3e-3 instead of 1e-2"),
    "no_batch_norm": dict(_DEFAULT, model="fast_cnn_plain",
                          note="without batch normalization (convolutions with biases)"),
    "no_bn_b128_lr3e-3": dict(_DEFAULT, model="fast_cnn_plain", learning_rate=3e-3, batch_size=128,
                              note="all three: no batch norm, batches of 128, rate 3e-3"),
    "probe_default": _probe("the default recipe, unchanged"),
    "probe_one_thread": _probe("1 intra-op and 1 inter-op thread", threads=[1, 1]),
    "probe_threads_2_1": _probe("2 intra-op threads, 1 inter-op thread", threads=[2, 1]),
    "probe_onednn_off": _probe("oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)", onednn=False),
    "probe_nondeterministic": _probe("without op determinism", deterministic=False),
    "probe_tf_data": _probe("tf.data input pipeline (cache, shuffle, prefetch)", input="tf.data"),
    "probe_batch_512": _probe("batch size 512", batch_size=512),
    # Keras turns XLA off while op determinism is on, so this probe turns determinism off too.
    "probe_xla": _probe("XLA (jit_compile=True, without op determinism)", jit_compile=True,
                        deterministic=False),
    "probe_no_batch_norm": _probe("without batch normalization", model="fast_cnn_plain"),
    "probe_wide_cnn": _probe("twice the filters (32, 64)", model_options={"filters": (32, 64)}),
    "probe_bf16": _probe("mixed_bfloat16 policy", precision="mixed_bfloat16", train_size=1500),
    "probe_jax": _probe("Keras' JAX backend", backend="jax", train_size=3000),
    "probe_torch": _probe("Keras' PyTorch backend", backend="torch"),
}
#: The default set: the seed recipe, the default (repeated, see --repeats) and its ablations.
#: The speed probes ran in earlier versions (XLA, bfloat16, JAX and PyTorch were all slower
#: on this 2-core CPU); name them with --recipes to run them again.
DEFAULT_SET = ("seed", "default", "batch_128", "lr_3e-3", "no_batch_norm", "no_bn_b128_lr3e-3")


def forward_flops(model: Any) -> int:
    """Floating-point operations of one image's forward pass (convolutions and dense layers)."""
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
    """Train one recipe in this process; return its per-epoch times (and accuracies)."""
    recipe = dict(SETTINGS, **recipe)
    import fmnist_helpers as fh

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if recipe["threads"]:
            tf.config.threading.set_intra_op_parallelism_threads(recipe["threads"][0])
            tf.config.threading.set_inter_op_parallelism_threads(recipe["threads"][1])
    if recipe["precision"] != "float32":
        keras.mixed_precision.set_global_policy(recipe["precision"])
    (x_train, y_train), (x_test, y_test) = fh.load_data()
    x_train, y_train = fh.preprocess_images(x_train[:train_size]), y_train[:train_size]
    x_test = fh.preprocess_images(x_test)
    # The book's one-line-per-epoch logger times each epoch without the scoring of the test set;
    # it prints to stderr, since stdout carries the result.
    timer = fh.EpochLogger(file=sys.stderr)
    if not recipe["speed_only"]:
        # What the book teaches: chapter 5's recipe, through the package's train_model.
        book_recipe = Recipe(model_name=recipe["model"], optimizer_name=recipe["optimizer"],
                             learning_rate=recipe["learning_rate"], batch_size=recipe["batch_size"],
                             epochs=recipe["epochs"])
        history = fh.train_model(book_recipe, x_train, y_train, validation_data=(x_test, y_test),
                                 callbacks=[timer], log_epochs=False)
        return {
            "epoch_seconds": timer.seconds,
            "test_accuracy": [float(value) for value in history.history["val_accuracy"]],
            "train_images": len(x_train),
            "train_flops_per_image": 3 * forward_flops(history.model),
            "backend": keras.backend.backend(),
        }
    if recipe["deterministic"]:
        fh.seed_everything(0)
    else:
        keras.utils.set_random_seed(0)
    if recipe["model_options"]:
        model = fh.build_fast_cnn(**recipe["model_options"])
    else:
        model = fh.build_model(recipe["model"])
    steps = recipe["epochs"] * -(-len(x_train) // recipe["batch_size"])
    optimizer = fh.make_optimizer(recipe["optimizer"], recipe["learning_rate"], total_steps=steps)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=recipe["jit_compile"])
    fit_options: dict[str, Any] = {"epochs": recipe["epochs"], "verbose": 0, "callbacks": [timer]}
    if recipe["input"] == "tf.data":
        dataset = (tf.data.Dataset.from_tensor_slices((x_train, y_train)).cache()
                   .shuffle(len(x_train), seed=0).batch(recipe["batch_size"]).prefetch(tf.data.AUTOTUNE))
        history = model.fit(dataset, shuffle=False, **fit_options)  # the dataset shuffles itself
    else:
        history = model.fit(x_train, y_train, batch_size=recipe["batch_size"], shuffle=True, **fit_options)
    epoch_seconds = timer.seconds
    test_accuracy = [float(value) for value in history.history.get("val_accuracy", [])]
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
    """One row of the report: a recipe's settings, its measurements and what follows from them.

    ``seconds_per_epoch`` is per 60,000-image epoch. Accuracy runs average the epochs after
    the first (which includes graph tracing) and count every epoch, tracing included, in
    ``seconds_to_target``. Speed probes keep their fastest epoch after the first.
    """
    recipe = dict(SETTINGS, **recipe)
    seconds = result["epoch_seconds"]
    steady = seconds[1:] if len(seconds) > 1 else seconds
    if recipe["speed_only"]:
        images_per_second = result["train_images"] / min(steady)
        reached = epochs_to_target = None
    else:
        images_per_second = result["train_images"] / statistics.mean(steady)
        elapsed = [sum(seconds[: i + 1]) for i in range(len(seconds))]
        hits = [i for i, accuracy in enumerate(result["test_accuracy"]) if accuracy >= TARGET_ACCURACY]
        reached = elapsed[hits[0]] if hits else None
        epochs_to_target = hits[0] + 1 if hits else None
    gflops = images_per_second * result["train_flops_per_image"] / 1e9
    return {
        "recipe": name, **recipe, **result,
        "seconds_per_epoch": FULL_EPOCH_IMAGES / images_per_second,
        "images_per_second": images_per_second,
        "seconds_to_target": reached,
        "epochs_to_target": epochs_to_target,
        "final_test_accuracy": result["test_accuracy"][-1] if result["test_accuracy"] else None,
        "achieved_gflops": gflops,
        "fraction_of_peak": gflops / peak,
    }


def median_repeat(repeats: list[dict[str, Any]]) -> dict[str, Any]:
    """Keep the repeat with the median time to target (or s/epoch), listing every repeat's.

    The repeats train identically (same seed); only their timings differ, with the machine's load.
    """
    def key(row: dict[str, Any]) -> float:
        return row["seconds_to_target"] or float("inf") if not row.get("speed_only") else row["seconds_per_epoch"]

    ordered = sorted(repeats, key=key)
    return dict(ordered[(len(ordered) - 1) // 2],
                repeat_seconds_to_target=[row["seconds_to_target"] for row in repeats],
                repeat_seconds_per_epoch=[row["seconds_per_epoch"] for row in repeats])


def _ratio(row: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """How many times faster per image ``row`` trains than ``baseline``."""
    return f"{row['images_per_second'] / baseline['images_per_second']:.2f}x" if baseline else ""


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: a time-to-accuracy table and a speed-probe table."""
    rows = {row["recipe"]: row for row in report["recipes"]}
    runs = [row for row in report["recipes"] if not row.get("speed_only")]
    probes = [row for row in report["recipes"] if row.get("speed_only")]
    target = f"{report['target_accuracy']:.0%}"
    lines = [
        f"Measured {report['date']} on {report['machine']['cpu']} ({report['machine']['cores']} cores), "
        f"TensorFlow {report['versions']['tensorflow']}, Keras {report['versions']['keras']}. "
        f"Matmul peak in the same run: {report['peak_gflops']['float32']:.0f} GFLOP/s float32, "
        f"{report['peak_gflops']['bfloat16']:.0f} GFLOP/s bfloat16.",
    ]
    if runs:
        lines += [
            "",
            f"Accuracy runs: {report['train_size']:,} training images, test accuracy after every epoch.",
            "",
            f"| recipe | model | optimizer | batch | epochs | s/epoch | images/s | speed vs seed "
            f"| time to {target} | epochs to {target} | final test acc. | % of fp32 peak |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in runs:
            reached = f"{row['seconds_to_target']:.0f} s" if row["seconds_to_target"] else "not reached"
            lines.append(
                f"| {row['recipe']} | {row['model']} | {row['optimizer']} {row['learning_rate']:g} | "
                f"{row['batch_size']} | {row['epochs']} | {row['seconds_per_epoch']:.1f} | "
                f"{row['images_per_second']:,.0f} | {_ratio(row, rows.get('seed'))} | {reached} | "
                f"{row['epochs_to_target'] or '-'} | {row['final_test_accuracy']:.2%} | "
                f"{row['fraction_of_peak']:.0%} |"
            )
    if probes:
        lines += [
            "",
            "Speed probes: the default recipe with one change, best epoch after the first, "
            "s/epoch scaled to 60,000 images.",
            "",
            "| probe | change | images | s/epoch | images/s | speed vs default probe | % of fp32 peak |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in probes:
            lines.append(
                f"| {row['recipe']} | {row['note']} | {row['train_images']:,} | "
                f"{row['seconds_per_epoch']:.1f} | {row['images_per_second']:,.0f} | "
                f"{_ratio(row, rows.get('probe_default'))} | {row['fraction_of_peak']:.0%} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(DEFAULT_SET))
    parser.add_argument("--quick", action="store_true",
                        help="a tenth of the images; accuracy runs stop after 1 epoch")
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the default recipe (median kept)")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)  # internal: one recipe, JSON on stdout
    parser.add_argument("--train-size", type=int, default=FULL_EPOCH_IMAGES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        print(json.dumps(run_recipe(json.loads(args.run_one), args.train_size)))
        return 0

    import tensorflow as tf

    scale = 10 if args.quick else 1
    peak = {dtype: matmul_peak(dtype) for dtype in ("float32", "bfloat16")}
    rows = []
    for name in args.recipes:
        recipe = dict(RECIPES[name])
        if recipe.get("speed_only"):
            train_size = (recipe.get("train_size") or PROBE_IMAGES) // scale
        else:
            train_size = FULL_EPOCH_IMAGES // scale
            recipe["epochs"] = 1 if args.quick else recipe["epochs"]
        env = dict(os.environ, KERAS_BACKEND=recipe["backend"],
                   TF_ENABLE_ONEDNN_OPTS="1" if recipe.get("onednn", True) else "0")
        repeats = []
        for repeat in range(args.repeats if name == "default" else 1):
            print(f"{name} (run {repeat + 1}): {recipe['note']}", file=sys.stderr, flush=True)
            completed = subprocess.run(
                [sys.executable, __file__, "--run-one", json.dumps(recipe), "--train-size", str(train_size)],
                env=env, stdout=subprocess.PIPE, text=True,
            )
            if completed.returncode != 0:
                print(f"{name}: failed (exit {completed.returncode}); skipped", file=sys.stderr)
                continue
            result = json.loads(completed.stdout.strip().splitlines()[-1])
            repeats.append(summarize(name, recipe, result, peak["float32"]))
        if repeats:
            rows.append(median_repeat(repeats))
    # Measure the peak again after training and keep the best: a busy moment lowers it.
    peak = {dtype: max(peak[dtype], matmul_peak(dtype)) for dtype in peak}
    rows = [dict(row, fraction_of_peak=row["achieved_gflops"] / peak["float32"]) for row in rows]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     **_optional_versions("jax", "torch")},
        "quick": args.quick, "train_size": FULL_EPOCH_IMAGES // scale, "target_accuracy": TARGET_ACCURACY,
        "peak_gflops": peak, "recipes": rows,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stem = "train_speed_quick" if args.quick else "train_speed"
    (args.output_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / f"{stem}.md").write_text(markdown(report))
    if not args.quick and args.output_dir.resolve() == (HERE / "results").resolve():
        write_manifest()  # the appendix, run alone, fetches the results and checks them against it
    print(markdown(report))
    return 0


def _optional_versions(*packages: str) -> dict[str, str]:
    """Versions of the optional backends that are installed."""
    from importlib import metadata

    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


if __name__ == "__main__":
    sys.exit(main())
