"""Time-to-accuracy benchmark: how fast does the book's default recipe reach 92% test accuracy?

First the **paired measure**, in one process: an epoch of the seed post's recipe, a run of
the default recipe to 92% test accuracy, another seed epoch, another default run, and so
on (``--pairs``, 3 by default), ending with a seed epoch. Each default run is divided by
the mean of the two seed epochs around it, so both figures of a ratio come from the same
minutes of the machine, whose speed drifts (2x between hours on shared machines); the
headline figure is the median of those ratios. Process CPU seconds (user + system) give a
second ratio, and a matmul measured in the same run gives each recipe's share of the
machine's float32 peak.

Then two kinds of rows, each run in its own process (a fresh Keras, backend, precision
policy and TensorFlow runtime):

* Accuracy runs train a recipe on the full training set and score the test set after every
  epoch (evaluation time is not counted as training time): time per epoch, test accuracy per
  epoch, time and epochs to reach 92%, final accuracy. Their seconds come from different
  minutes, so compare their epochs, not their seconds.
* Speed probes change one setting of the default recipe (threads, oneDNN, determinism, input
  pipeline, batch size, XLA, precision, Keras backend) and only time training: 8 short epochs
  on a subset, the first (graph tracing) dropped and the fastest of the others kept. They are
  compared with the unchanged default probed the same way in the same run.

    python benchmarks/train_speed.py             # the default set, about 12 minutes on 2 cores
    python benchmarks/train_speed.py --quick     # a tenth of the images, 1 epoch per run
    python benchmarks/train_speed.py --pairs 0 --recipes probe_default probe_torch

The JAX and PyTorch probes need `pip install -r requirements-benchmark.txt` (``make
benchmark`` does it); without them those probes fail in their own process and are reported
as skipped. Writes benchmarks/results/train_speed.json and .md (or --output-dir).
"""

from __future__ import annotations

import argparse
import dataclasses
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
    "previous_default": dict(_DEFAULT, model="fast_cnn_dropout_0.3", epochs=10,
                             note="the default until 2026-12: dropout 0.3, 10 epochs"),
    "no_batch_norm": dict(_DEFAULT, model="fast_cnn_plain",
                          note="without batch normalization (convolutions with biases)"),
    "batch_512": dict(_DEFAULT, batch_size=512, note="batches of 512 instead of 256"),
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
#: The default set, after the paired measure: the default's curve, the recipes chapter 7
#: compares it with where they change the time (the accuracy side is chapter 7's, over three
#: seeds), and the bfloat16 probe against the default probe (this CPU has AVX512-BF16). The
#: other probes ran in earlier versions (XLA, JAX and PyTorch were all slower on a 2-core
#: CPU); name them with --recipes to run them again.
DEFAULT_SET = ("default", "previous_default", "no_batch_norm", "batch_512", "probe_default",
               "probe_bf16")


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


class EpochClock(keras.callbacks.Callback):
    """Wall and process CPU seconds (user + system, every thread) of each epoch's training.

    Like :class:`fmnist_helpers.EpochLogger`, it stops the clocks when the scoring of the
    validation data begins, so only training counts.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []
        self._start: tuple[float, float] | None = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = (time.perf_counter(), time.process_time())

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._stop()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._start is not None:
            self.seconds.append(time.perf_counter() - self._start[0])
            self.cpu_seconds.append(time.process_time() - self._start[1])
            self._start = None


class StopAtTarget(keras.callbacks.Callback):
    """Stop training after the first epoch whose validation (here: test) accuracy reaches the target."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (logs or {}).get("val_accuracy", 0.0) >= TARGET_ACCURACY:
            self.model.stop_training = True


def pair_ratios(seed_seconds: list[float], candidate_seconds: list[float | None]) -> list[float | None]:
    """Each candidate run's seconds over the seed epochs run just before and after it.

    The schedule is seed, candidate, seed, candidate, ..., seed: candidate ``i`` sits between
    seed epochs ``i`` and ``i + 1`` and is divided by their mean (by seed epoch ``i`` alone
    when the last seed epoch is missing). A run that never reached the target has no ratio.
    """
    ratios: list[float | None] = []
    for index, seconds in enumerate(candidate_seconds):
        neighbours = seed_seconds[index:index + 2]
        ratios.append(None if seconds is None else seconds / statistics.mean(neighbours))
    return ratios


def run_paired(candidate: Recipe, pairs: int, train_size: int) -> dict[str, Any]:
    """Interleave seed-recipe epochs with runs of ``candidate`` to 92%, in this process.

    The seed recipe's model is built, compiled and traced once by the package's
    ``train_model`` (one epoch on 320 images); each seed epoch after that is one
    ``fit`` epoch on the full training set, timed without tracing. Each candidate run is
    ``train_model`` from scratch, exactly as chapter 5 trains (tracing included, as a
    reader pays it), scored on the test set after every epoch outside the timed part, and
    stopped after the epoch that reaches the target.
    """
    import fmnist_helpers as fh

    (x_train, y_train), (x_test, y_test) = fh.load_data()
    x_train, y_train = fh.preprocess_images(x_train[:train_size]), y_train[:train_size]
    x_test = fh.preprocess_images(x_test)
    seed_model = fh.train_model(SEED_RECIPE, x_train[:320], y_train[:320], log_epochs=False).model
    seed_seconds: list[float] = []
    seed_cpu: list[float] = []
    runs: list[dict[str, Any]] = []

    def seed_epoch() -> None:
        clock = EpochClock()
        seed_model.fit(x_train, y_train, batch_size=SEED_RECIPE.batch_size, epochs=1, verbose=0,
                       callbacks=[clock])
        seed_seconds.extend(clock.seconds)
        seed_cpu.extend(clock.cpu_seconds)
        print(f"seed epoch {len(seed_seconds)}: {clock.seconds[0]:.1f} s", file=sys.stderr, flush=True)

    seed_epoch()
    for pair in range(pairs):
        clock = EpochClock()
        history = fh.train_model(candidate, x_train, y_train, validation_data=(x_test, y_test),
                                 callbacks=[clock, StopAtTarget()], log_epochs=False)
        accuracy = [float(value) for value in history.history["val_accuracy"]]
        reached = accuracy[-1] >= TARGET_ACCURACY
        runs.append({
            "epoch_seconds": clock.seconds, "epoch_cpu_seconds": clock.cpu_seconds,
            "test_accuracy": accuracy, "epochs_to_target": len(accuracy) if reached else None,
            "seconds_to_target": sum(clock.seconds) if reached else None,
            "cpu_seconds_to_target": sum(clock.cpu_seconds) if reached else None,
        })
        print(f"candidate run {pair + 1}: {sum(clock.seconds):.1f} s, {len(accuracy)} epochs, "
              f"test accuracy {accuracy[-1]:.4f}", file=sys.stderr, flush=True)
        seed_epoch()
    ratios = pair_ratios(seed_seconds, [run["seconds_to_target"] for run in runs])
    cpu_ratios = pair_ratios(seed_cpu, [run["cpu_seconds_to_target"] for run in runs])
    steady = [seconds for run in runs for seconds in run["epoch_seconds"][1:]]
    return {
        "candidate": dataclasses.asdict(candidate),
        "train_images": len(x_train),
        "seed_epoch_seconds": seed_seconds,
        "seed_epoch_cpu_seconds": seed_cpu,
        "runs": runs,
        "ratios": ratios,
        "median_ratio": _median(ratios),
        "cpu_ratios": cpu_ratios,
        "median_cpu_ratio": _median(cpu_ratios),
        "candidate_flops_per_image": 3 * forward_flops(fh.build_model(candidate.model_name)),
        "seed_flops_per_image": 3 * forward_flops(seed_model),
        "candidate_median_epoch_seconds": statistics.median(steady) if steady else None,
    }


def _median(values: list[float | None]) -> float | None:
    """The median of the values, ``None`` (a run that missed the target) counting as infinite."""
    ordered = sorted(values, key=lambda value: float("inf") if value is None else value)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


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


def with_peak_shares(paired: dict[str, Any], peak: float) -> dict[str, Any]:
    """Add each recipe's share of the float32 matmul peak (steady epochs, tracing excluded)."""
    images = paired["train_images"]
    seed_steady = paired["seed_epoch_seconds"]
    shares = {"seed_fraction_of_peak": images * paired["seed_flops_per_image"] / 1e9
              / statistics.median(seed_steady) / peak}
    if paired["candidate_median_epoch_seconds"]:
        shares["candidate_fraction_of_peak"] = (images * paired["candidate_flops_per_image"] / 1e9
                                                / paired["candidate_median_epoch_seconds"] / peak)
    return dict(paired, **shares)


def paired_markdown(paired: dict[str, Any]) -> list[str]:
    """The paired measure as Markdown lines: one row per pair, then the medians."""
    lines = [
        "",
        "Paired: the default recipe's runs to 92% test accuracy, each between two seed-recipe "
        "epochs in the same process.",
        "",
        "| pair | seed epoch before | default to 92% | epochs | seed epoch after | ratio | CPU-time ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    seeds = paired["seed_epoch_seconds"]
    for index, run in enumerate(paired["runs"]):
        ratio, cpu_ratio = paired["ratios"][index], paired["cpu_ratios"][index]
        reached = f"{run['seconds_to_target']:.1f} s" if run["seconds_to_target"] else "not reached"
        after = f"{seeds[index + 1]:.1f} s" if index + 1 < len(seeds) else "-"
        lines.append(
            f"| {index + 1} | {seeds[index]:.1f} s | {reached} | {run['epochs_to_target'] or '-'} | "
            f"{after} | {_format_ratio(ratio)} | {_format_ratio(cpu_ratio)} |"
        )
    lines += ["", f"Median ratio: {_format_ratio(paired['median_ratio'])} seed epochs "
                  f"(CPU time: {_format_ratio(paired['median_cpu_ratio'])})."]
    return lines


def _format_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}"


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
    if report.get("paired"):
        lines += paired_markdown(report["paired"])
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
    parser.add_argument("--pairs", type=int, default=3,
                        help="seed epoch / default run pairs of the paired measure (0: skip it)")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)  # internal: one recipe, JSON on stdout
    parser.add_argument("--run-paired", type=int, help=argparse.SUPPRESS)  # internal: the pairs
    parser.add_argument("--train-size", type=int, default=FULL_EPOCH_IMAGES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        print(json.dumps(run_recipe(json.loads(args.run_one), args.train_size)))
        return 0
    if args.run_paired:
        print(json.dumps(run_paired(DEFAULT_RECIPE, args.run_paired, args.train_size)))
        return 0

    import tensorflow as tf

    scale = 10 if args.quick else 1
    peak = {dtype: matmul_peak(dtype) for dtype in ("float32", "bfloat16")}
    paired = None
    if args.pairs:
        print(f"paired: {args.pairs} default runs between seed epochs", file=sys.stderr, flush=True)
        completed = subprocess.run(
            [sys.executable, __file__, "--run-paired", str(args.pairs), "--train-size",
             str(FULL_EPOCH_IMAGES // scale)], stdout=subprocess.PIPE, text=True, check=True,
        )
        paired = json.loads(completed.stdout.strip().splitlines()[-1])
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
        print(f"{name}: {recipe['note']}", file=sys.stderr, flush=True)
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
    if paired:
        paired = with_peak_shares(paired, peak["float32"])
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     **_optional_versions("jax", "torch")},
        "quick": args.quick, "train_size": FULL_EPOCH_IMAGES // scale, "target_accuracy": TARGET_ACCURACY,
        "peak_gflops": peak, "paired": paired, "recipes": rows,
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
