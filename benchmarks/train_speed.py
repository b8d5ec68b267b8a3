"""Time-to-accuracy benchmark: the default recipe's time in epochs of the original post's recipe.

**The paired measure.** One epoch of the original post's recipe, one whole run of the
default recipe (its fixed 5-epoch schedule, seed 0), another original epoch, a run of the
default with seed 1, and so on (``--seeds``, 0 to 4 by default), ending with an original
epoch. Each of them runs in a fresh Python process, so no run inherits another's traced
models, thread pools or memory, and each is timed by the package's ``EpochLogger`` (training
only: the scoring of validation data is not counted). Each default run is divided by the mean
of the two original epochs around it, so both figures of a ratio come from the same minutes
of the machine, whose speed drifts (2x between hours on shared machines); the headline figure
is the median of those ratios. Process CPU seconds (user + system) give a second ratio, and a
matmul measured in the same run gives each recipe's share of the machine's float32 peak.

Accuracy is read on validation images only (each seed's own 6,000, held out as chapter 5
does): a recipe **reaches 92%** when the mean of its final validation accuracy over the
seeds is at least 92%, after its fixed schedule; no single seed crossing the line counts.
The test set is never read here.

**Speed probes** change one setting of the default recipe (threads, oneDNN, determinism,
input pipeline, batch size, XLA, precision, Keras backend) and only time training: 8 short
epochs on a subset, the first (graph tracing) dropped and the fastest of the others kept.
They are compared with the unchanged default probed the same way in the same run.

    python benchmarks/train_speed.py             # the default set, about 15 minutes on 2 cores
    python benchmarks/train_speed.py --quick     # a tenth of the images, seeds 0 and 1
    python benchmarks/train_speed.py --seeds --recipes probe_default probe_torch  # probes only

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import fmnist_helpers  # noqa: F401 - first: it imports TensorFlow without start-up log lines
from fmnist_helpers.book_files import write_manifest
from fmnist_helpers.experiments import SEEDS, TARGET_ACCURACY
from fmnist_helpers.recipes import DEFAULT_RECIPE, HEADLINE_RECIPE, ORIGINAL_RECIPE, Recipe

import keras  # noqa: E402 - after fmnist_helpers; the backend comes from KERAS_BACKEND

FULL_EPOCH_IMAGES = 60000
#: Images per epoch of a speed probe, unless the probe says otherwise.
PROBE_IMAGES = 6000
#: Epochs of a speed probe: the first traces the graph and is dropped; the best other counts.
PROBE_EPOCHS = 8
HERE = Path(__file__).resolve().parent
#: The recipes the paired measure can time against the original recipe's epochs: the
#: default (target 1: 92% in the fewest original-recipe epochs) and the headline model, the
#: book's most accurate (target 2: its accuracy within a budget of original-recipe epochs).
CANDIDATES: dict[str, Recipe] = {"default": DEFAULT_RECIPE, "headline": HEADLINE_RECIPE}


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
    "steps_per_execution": 1,  # training steps per call of the compiled function
    "train_size": None,  # images per epoch of a speed probe (default PROBE_IMAGES)
}


def _probe(note: str, **changes: Any) -> dict[str, Any]:
    return dict(_DEFAULT, epochs=PROBE_EPOCHS, note=note, **changes)


#: Speed probes of the default recipe, by name.
RECIPES: dict[str, dict[str, Any]] = {
    "probe_default": _probe("the default recipe, unchanged"),
    "probe_one_thread": _probe("1 intra-op and 1 inter-op thread", threads=[1, 1]),
    "probe_threads_2_1": _probe("2 intra-op threads, 1 inter-op thread", threads=[2, 1]),
    "probe_onednn_off": _probe("oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)", onednn=False),
    "probe_nondeterministic": _probe("without op determinism", deterministic=False),
    "probe_tf_data": _probe("tf.data input pipeline (cache, shuffle, prefetch)", input="tf.data"),
    "probe_batch_512": _probe("batch size 512", batch_size=512),
    "probe_steps_per_execution": _probe("8 steps per execution (compile's steps_per_execution)",
                                        steps_per_execution=8),
    # Keras turns XLA off while op determinism is on, so this probe turns determinism off too.
    "probe_xla": _probe("XLA (jit_compile=True, without op determinism)", jit_compile=True,
                        deterministic=False),
    "probe_no_batch_norm": _probe("without batch normalization", model="fast_cnn_plain"),
    "probe_wide_cnn": _probe("twice the filters (32, 64)", model_options={"filters": (32, 64)}),
    "probe_bf16": _probe("mixed_bfloat16 policy", precision="mixed_bfloat16", train_size=1500),
    "probe_jax": _probe("Keras' JAX backend", backend="jax", train_size=3000),
    "probe_torch": _probe("Keras' PyTorch backend", backend="torch"),
}
#: The default set, after the paired measure: the probes of the two changes chapter 7
#: compares that change the time per epoch (batch norm, batch size), bfloat16 (this CPU
#: has AVX512-BF16), what op determinism costs, and steps per execution, each against the
#: default probe. The other probes ran in earlier
#: versions (XLA, JAX and PyTorch were all slower on a 2-core CPU); name them with --recipes.
DEFAULT_SET = ("probe_default", "probe_no_batch_norm", "probe_batch_512", "probe_bf16",
               "probe_nondeterministic", "probe_steps_per_execution")


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
    """Time one speed probe in this process: its epochs' training seconds."""
    recipe = dict(SETTINGS, **recipe)
    import fmnist_helpers as fh

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if recipe["threads"]:
            tf.config.threading.set_intra_op_parallelism_threads(recipe["threads"][0])
            tf.config.threading.set_inter_op_parallelism_threads(recipe["threads"][1])
    if recipe["precision"] != "float32":
        keras.mixed_precision.set_global_policy(recipe["precision"])
    (x_train, y_train), _ = fh.load_data()
    x_train, y_train = fh.preprocess_images(x_train[:train_size]), y_train[:train_size]
    # The book's one-line-per-epoch logger times each epoch; it prints to stderr, since stdout
    # carries the result.
    timer = fh.EpochLogger(file=sys.stderr)
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
                  jit_compile=recipe["jit_compile"], steps_per_execution=recipe["steps_per_execution"])
    fit_options: dict[str, Any] = {"epochs": recipe["epochs"], "verbose": 0, "callbacks": [timer]}
    if recipe["input"] == "tf.data":
        dataset = (tf.data.Dataset.from_tensor_slices((x_train, y_train)).cache()
                   .shuffle(len(x_train), seed=0).batch(recipe["batch_size"]).prefetch(tf.data.AUTOTUNE))
        model.fit(dataset, shuffle=False, **fit_options)  # the dataset shuffles itself
    else:
        model.fit(x_train, y_train, batch_size=recipe["batch_size"], shuffle=True, **fit_options)
    return {
        "epoch_seconds": timer.seconds,
        "train_images": len(x_train),
        "train_flops_per_image": 3 * forward_flops(model),  # forward + backward ~ 3 forwards
        "backend": keras.backend.backend(),
    }


def pair_ratios(original_seconds: list[float], candidate_seconds: list[float]) -> list[float]:
    """Each default run's seconds over the original-recipe epochs run just before and after it.

    The schedule is original, default, original, default, ..., original: default run ``i``
    sits between original epochs ``i`` and ``i + 1`` and is divided by their mean (by
    original epoch ``i`` alone when the last one is missing).
    """
    return [seconds / statistics.mean(original_seconds[index:index + 2])
            for index, seconds in enumerate(candidate_seconds)]


def run_unit(kind: str, seed: int, train_size: int) -> dict[str, Any]:
    """One timed unit of the paired measure, in this (fresh) process.

    Both kinds train on the seed's training images (its 6,000 validation images held out,
    as chapter 5 does), through the package's ``train_model``, graph tracing included, as a
    reader pays it. ``"original"`` is one epoch of the original post's recipe: its schedule
    does not depend on the run's length, so this is exactly the first epoch of its 20.
    ``"default"`` is the default recipe's whole run with ``seed``, scored on the validation
    images after every epoch, outside the timed spans.
    """
    import fmnist_helpers as fh

    if kind != "original" and kind not in CANDIDATES:
        raise ValueError(f"unknown unit {kind!r}; expected 'original' or one of {', '.join(map(repr, CANDIDATES))}")
    (x_train, y_train), _ = fh.load_data()
    (x_fit, y_fit), (x_val, y_val) = fh.split_validation(
        fh.preprocess_images(x_train), y_train, validation_size=0.1, seed=seed)
    x_fit, y_fit = x_fit[:train_size], y_fit[:train_size]
    timer = fh.EpochLogger(file=sys.stderr)
    if kind == "original":
        recipe = dataclasses.replace(ORIGINAL_RECIPE, epochs=1, seed=seed)
        history = fh.train_model(recipe, x_fit, y_fit, callbacks=[timer], log_epochs=False)
    else:
        recipe = dataclasses.replace(CANDIDATES[kind], seed=seed)
        history = fh.train_model(recipe, x_fit, y_fit, validation_data=(x_val, y_val),
                                 callbacks=[timer], log_epochs=False)
    return {
        "kind": kind, "seed": seed, "train_images": len(x_fit),
        "seconds": sum(timer.seconds), "cpu_seconds": sum(timer.cpu_seconds),
        "epoch_seconds": timer.seconds,
        "val_accuracy": [float(value) for value in history.history.get("val_accuracy", [])],
        "train_flops_per_image": 3 * forward_flops(history.model),
    }


def _run_unit_process(kind: str, seed: int, train_size: int) -> dict[str, Any]:
    """:func:`run_unit` in a new Python process; adds that process's wall seconds."""
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, __file__, "--run-unit", kind, str(seed), "--train-size", str(train_size)],
        stdout=subprocess.PIPE, text=True, check=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - start
    print(f"{kind}, seed {seed}: {result['seconds']:.1f} s of training", file=sys.stderr, flush=True)
    return result


def run_paired(seeds: Sequence[int], train_size: int,
               unit: Callable[[str, int, int], dict[str, Any]] = _run_unit_process,
               candidate: str = "default") -> dict[str, Any]:
    """Interleave original-recipe epochs with a candidate's runs, one seed each, one process each.

    Parameters
    ----------
    seeds
        The default runs' seeds, in order; each original epoch uses the seed of the run
        before it (the first, the first run's).
    train_size
        Training images of every unit.
    unit
        Runs one unit: ``unit(kind, seed, train_size)`` returns :func:`run_unit`'s record.
    candidate
        A key of :data:`CANDIDATES`: the recipe timed against the original recipe.

    Returns
    -------
    dict
        The units, the ratios and their medians, and the default's mean final validation
        accuracy over the seeds, with ``reaches_target`` (at least :data:`TARGET_ACCURACY`).
    """
    if not seeds:
        raise ValueError("the paired measure needs at least one seed, such as --seeds 0 1 2 3 4")
    originals = [unit("original", seeds[0], train_size)]
    runs = []
    for seed in seeds:
        runs.append(unit(candidate, seed, train_size))
        originals.append(unit("original", seed, train_size))
    ratios = pair_ratios([one["seconds"] for one in originals], [run["seconds"] for run in runs])
    cpu_ratios = pair_ratios([one["cpu_seconds"] for one in originals],
                             [run["cpu_seconds"] for run in runs])
    final = [run["val_accuracy"][-1] for run in runs]
    steady = [seconds for run in runs for seconds in run["epoch_seconds"][1:]]
    return {
        "candidate_name": candidate,
        "candidate": dataclasses.asdict(CANDIDATES[candidate]), "seeds": list(seeds),
        "train_images": runs[0]["train_images"], "originals": originals, "runs": runs,
        "ratios": ratios, "median_ratio": statistics.median(ratios),
        "cpu_ratios": cpu_ratios, "median_cpu_ratio": statistics.median(cpu_ratios),
        "mean_final_val_accuracy": statistics.mean(final),
        "reaches_target": statistics.mean(final) >= TARGET_ACCURACY,
        "candidate_median_epoch_seconds": statistics.median(steady) if steady else None,
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
    """One row of the report: a probe's settings, its fastest epoch after the first, its share of peak.

    ``seconds_per_epoch`` is scaled to a 60,000-image epoch.
    """
    recipe = dict(SETTINGS, **recipe)
    seconds = result["epoch_seconds"]
    steady = seconds[1:] if len(seconds) > 1 else seconds
    images_per_second = result["train_images"] / min(steady)
    gflops = images_per_second * result["train_flops_per_image"] / 1e9
    return {
        "recipe": name, **recipe, **result,
        "seconds_per_epoch": FULL_EPOCH_IMAGES / images_per_second,
        "images_per_second": images_per_second,
        "achieved_gflops": gflops,
        "fraction_of_peak": gflops / peak,
    }


def with_peak_shares(paired: dict[str, Any], peak: float) -> dict[str, Any]:
    """Add each recipe's share of the float32 matmul peak (the default's steady epochs)."""
    images = paired["train_images"]
    original = paired["originals"][0]["train_flops_per_image"]
    shares = {"original_fraction_of_peak": images * original / 1e9
              / statistics.median(one["seconds"] for one in paired["originals"]) / peak}
    if paired["candidate_median_epoch_seconds"]:
        candidate = paired["runs"][0]["train_flops_per_image"]
        shares["candidate_fraction_of_peak"] = (images * candidate / 1e9
                                                / paired["candidate_median_epoch_seconds"] / peak)
    return dict(paired, **shares)


def paired_markdown(paired: dict[str, Any]) -> list[str]:
    """The paired measure as Markdown lines: one row per seed, then the medians and the rule."""
    name = paired.get("candidate_name", "default")
    lines = [
        "",
        f"Paired: each {name} run (its whole schedule) between two epochs of the original post's "
        "recipe, every one in its own process; accuracy on each seed's validation images.",
        "",
        f"| seed | original epoch before | {name} run | original epoch after | ratio | "
        "CPU-time ratio | final validation accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    originals = paired["originals"]
    for index, run in enumerate(paired["runs"]):
        after = f"{originals[index + 1]['seconds']:.1f} s" if index + 1 < len(originals) else "-"
        lines.append(
            f"| {run['seed']} | {originals[index]['seconds']:.1f} s | {run['seconds']:.1f} s | "
            f"{after} | {paired['ratios'][index]:.2f} | {paired['cpu_ratios'][index]:.2f} | "
            f"{run['val_accuracy'][-1]:.2%} |"
        )
    verdict = "reaches" if paired["reaches_target"] else "does not reach"
    lines += ["", f"Median ratio: {paired['median_ratio']:.2f} original-recipe epochs "
                  f"(CPU time: {paired['median_cpu_ratio']:.2f}). Mean final validation accuracy "
                  f"over {len(paired['runs'])} seeds: {paired['mean_final_val_accuracy']:.2%}, "
                  f"so the {name} {verdict} {TARGET_ACCURACY:.0%}."]
    return lines


def _ratio(row: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """How many times faster per image ``row`` trains than ``baseline``."""
    return f"{row['images_per_second'] / baseline['images_per_second']:.2f}x" if baseline else ""


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: the paired measure, then the speed probes."""
    rows = {row["recipe"]: row for row in report["recipes"]}
    lines = [
        f"Measured {report['date']} on {report['machine']['cpu']} ({report['machine']['cores']} cores), "
        f"TensorFlow {report['versions']['tensorflow']}, Keras {report['versions']['keras']}. "
        f"Matmul peak in the same run: {report['peak_gflops']['float32']:.0f} GFLOP/s float32, "
        f"{report['peak_gflops']['bfloat16']:.0f} GFLOP/s bfloat16.",
    ]
    for key in ("paired", "headline_paired"):
        if report.get(key):
            lines += paired_markdown(report[key])
    if report["recipes"]:
        lines += [
            "",
            "Speed probes: the default recipe with one change, best epoch after the first, "
            "s/epoch scaled to 60,000 images."
            + (f" Note: {report['probes_rerun']}." if report.get("probes_rerun") else ""),
            "",
            "| probe | change | images | s/epoch | images/s | speed vs default probe | % of fp32 peak |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in report["recipes"]:
            lines.append(
                f"| {row['recipe']} | {row['note']} | {row['train_images']:,} | "
                f"{row['seconds_per_epoch']:.1f} | {row['images_per_second']:,.0f} | "
                f"{_ratio(row, rows.get('probe_default'))} | {row['fraction_of_peak']:.0%} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="*", choices=list(RECIPES), default=list(DEFAULT_SET),
                        help="speed probes to run after the paired measure")
    parser.add_argument("--quick", action="store_true",
                        help="a tenth of the images, and the paired measure on seeds 0 and 1")
    parser.add_argument("--output-dir", type=Path, default=HERE / "results")
    parser.add_argument("--seeds", nargs="*", type=int, default=None,
                        help=f"the default runs of the paired measure (default: {' '.join(map(str, SEEDS))}; "
                             "none: skip it)")
    parser.add_argument("--headline-seeds", nargs="*", type=int, default=None,
                        help="the headline model's runs, timed the same way (default: 0 1; "
                             "--quick: 0; none: skip it)")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)  # internal: one probe, JSON on stdout
    parser.add_argument("--run-unit", nargs=2, metavar=("KIND", "SEED"),
                        help=argparse.SUPPRESS)  # internal: one unit of the paired measure
    parser.add_argument("--train-size", type=int, default=FULL_EPOCH_IMAGES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        print(json.dumps(run_recipe(json.loads(args.run_one), args.train_size)))
        return 0
    if args.run_unit:
        kind, seed = args.run_unit
        print(json.dumps(run_unit(kind, int(seed), args.train_size)))
        return 0

    import tensorflow as tf

    scale = 10 if args.quick else 1
    seeds = args.seeds if args.seeds is not None else list(SEEDS[:2] if args.quick else SEEDS)
    peak = {dtype: matmul_peak(dtype) for dtype in ("float32", "bfloat16")}
    paired = None
    if seeds:
        print(f"paired: {len(seeds)} default runs between original-recipe epochs", file=sys.stderr,
              flush=True)
        paired = run_paired(seeds, FULL_EPOCH_IMAGES // scale)
    headline_seeds = (args.headline_seeds if args.headline_seeds is not None
                      else [0] if args.quick else [0, 1])
    headline_paired = None
    if headline_seeds:
        print(f"paired: {len(headline_seeds)} headline runs between original-recipe epochs",
              file=sys.stderr, flush=True)
        headline_paired = run_paired(headline_seeds, FULL_EPOCH_IMAGES // scale, candidate="headline")
    rows = []
    for name in args.recipes:
        recipe = dict(RECIPES[name])
        train_size = (recipe.get("train_size") or PROBE_IMAGES) // scale
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
    if headline_paired:
        headline_paired = with_peak_shares(headline_paired, peak["float32"])
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     **_optional_versions("jax", "torch")},
        "quick": args.quick, "train_size": FULL_EPOCH_IMAGES // scale, "target_accuracy": TARGET_ACCURACY,
        "peak_gflops": peak, "paired": paired, "headline_paired": headline_paired, "recipes": rows,
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
