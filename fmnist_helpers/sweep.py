"""Run the training chapter over a grid of recipes on a Dask cluster and collect the results.

Usage: ``python -m fmnist_helpers.sweep [--quick] [--runs NAME ...] [--seeds SEED ...]
[--scheduler ADDRESS] [--workers N] [--threads-per-run N]``. The runs are the recipes of the
book's controlled comparisons (:mod:`fmnist_helpers.experiments`), each with several seeds,
and the original post's whole recipe. Each run and seed executes the training chapter with
papermill as one task of a Dask cluster: a local one sized to this machine's cores, or the cluster at
``--scheduler``, whose workers need this package installed from the same checkout (they
execute their own copy of ``book/5_train.ipynb``). A run's executed notebook and artifacts
stay on its worker, in ``results/sweep/`` (ignored by git); its row and learning curves come
back, and this machine writes the table to ``book/data/experiments.csv`` and the curves to
``book/data/histories.json``, which the experiments chapter reads. A run that fails is
reported with its parameters and error; the others are still written, and the command
exits with status 1.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .book import BOOK_DIR, LESSON_ONLY_TAG, TRAINING_TAG, execute_chapter
from .book_files import write_manifest
from .inference import DEFAULT_MODEL_PATH, HEADLINE_MODEL_NAME
from .experiments import COMPARISONS, RECIPES, SEEDS, SINGLE_RUNS
from .recipes import DEFAULT_RECIPE, Profile, Recipe

__all__ = [
    "BASELINE_RUN", "DATA_DIR", "FLIP_TTA_RUN", "HEADLINE_RUN", "MIN_THREADS_PER_RUN", "RESULTS_DIR",
    "SWEEP", "THREAD_VARIABLES", "SweepError", "SweepRunError", "available_cores", "check_options",
    "history_key",
    "collect_run", "comparisons_of", "execute_run", "format_failure", "parse_args",
    "plan_local_cluster", "run_classical_baseline", "run_sweep", "save_headline_model",
    "score_with_flips", "seeds_of", "thread_caps",
]

#: Where each run's notebook and artifacts go (ignored by git).
RESULTS_DIR = BOOK_DIR.parent / "results" / "sweep"
#: Where the collected table goes (committed: the experiments chapter reads it).
DATA_DIR = BOOK_DIR / "data"

#: The run that trains the headline model (:data:`~fmnist_helpers.recipes.HEADLINE_RECIPE`);
#: its seed-0 model is also saved to ``artifacts/``.
HEADLINE_RUN = "best model"
#: The run whose models are also scored with flip test-time augmentation (chapter 7).
FLIP_TTA_RUN = "wide CNN, flips"

#: The runs, by name: every recipe of :data:`~fmnist_helpers.experiments.COMPARISONS` and the
#: best model (once per seed of :data:`~fmnist_helpers.experiments.SEEDS`), then the original
#: post's whole 20-epoch recipe (once, seed 0).
SWEEP: dict[str, Recipe] = {**RECIPES, **SINGLE_RUNS}


def seeds_of(name: str) -> tuple[int, ...]:
    """The seeds run ``name`` of :data:`SWEEP` runs with."""
    return SEEDS if name in RECIPES else (0,)


def comparisons_of(name: str) -> str:
    """The comparisons that run ``name`` belongs to, joined by ``"; "`` (empty if none)."""
    return "; ".join(comparison.name for comparison in COMPARISONS
                     if name in (comparison.base, *comparison.variants))


#: The classical baseline's row name in the table.
BASELINE_RUN = "logistic regression (scikit-learn)"

#: The environment variables that cap a run's threads: TensorFlow's intra-op and inter-op
#: pools (TensorFlow 2.21 reads both when it starts), and the OpenMP and BLAS pools of oneDNN
#: and NumPy. The chapter's kernel inherits them from the worker that starts it.
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class SweepRunError(RuntimeError):
    """One run of the sweep failed in its chapter; the message names the error and the notebook."""


class SweepError(RuntimeError):
    """Some runs of the sweep failed; the others were written.

    Attributes
    ----------
    failures
        One line per failed run (see :func:`format_failure`), by run name.
    table
        The table that was written, or ``None`` when no run succeeded.
    """

    def __init__(self, message: str, failures: dict[str, str], table: pd.DataFrame | None) -> None:
        super().__init__(message)
        self.failures = failures
        self.table = table


def _run_folder(name: str, seed: int) -> str:
    return f"{name} seed {seed}".replace(" ", "_").replace(",", "").replace("+", "plus")


def collect_run(name: str, recipe: Recipe, notebook: Path, artifacts: Path) -> dict[str, Any]:
    """Read one executed run: its recipe, validation and test accuracy, and training time.

    The training time is papermill's record of how long the cell tagged
    :data:`~fmnist_helpers.book.TRAINING_TAG` ran.

    Parameters
    ----------
    name
        The run's name in :data:`SWEEP`.
    recipe
        Its recipe, with the run's seed.
    notebook
        The executed training chapter.
    artifacts
        The folder its ``metrics.json`` was saved in.

    Returns
    -------
    dict
        One row of the experiments table.
    """
    cells = json.loads(notebook.read_text())["cells"]
    training = next(c for c in cells if TRAINING_TAG in c["metadata"].get("tags", []))
    metrics = json.loads((artifacts / "metrics.json").read_text())
    seconds = training["metadata"]["papermill"]["duration"]
    return {
        "run": name,
        "seed": recipe.seed,
        "comparison": comparisons_of(name),
        "model": recipe.model_name,
        "optimizer": recipe.optimizer_name,
        "learning rate": recipe.learning_rate,
        "batch size": recipe.batch_size,
        "epochs": recipe.epochs,
        "validation accuracy": metrics["val_accuracy"],
        "test accuracy": metrics["test_accuracy"],
        "training seconds": seconds,
    }


def score_with_flips(model_path: Path, seed: int, repeats: int = 5) -> dict[str, float]:
    """Validation accuracy and prediction time of a saved model, plain and with flip TTA.

    Test-time augmentation is a choice like any other, so it is judged on the run's own
    validation images (the split ``seed`` held out, as chapter 5 makes it), never on the
    test set. Both predictions run ``repeats`` times, taking turns, and each keeps its
    fastest time: a single timing on a machine whose speed drifts can make the two look alike.

    Parameters
    ----------
    model_path
        A model saved by the training chapter.
    seed
        The run's seed, which chose its validation images.
    repeats
        Timed predictions of each kind.

    Returns
    -------
    dict
        ``"validation accuracy, flip TTA"``, ``"predict seconds"`` and
        ``"predict seconds, flip TTA"`` (all 6,000 validation images in batches of 1,000,
        on this machine).
    """
    import numpy as np

    from .data import load_data
    from .evaluation import load_trained_model, predict_with_flips
    from .preprocessing import preprocess_images, split_validation

    (x_train, y_train), _ = load_data()
    _, (x_val, y_val) = split_validation(preprocess_images(x_train), y_train,
                                         validation_size=0.1, seed=seed)
    model = load_trained_model(model_path)
    model.predict(x_val[:1000], batch_size=1000, verbose=0)  # build the predict function first
    timings: dict[str, list[float]] = {"plain": [], "flips": []}
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(x_val, batch_size=1000, verbose=0)
        timings["plain"].append(time.perf_counter() - start)
        start = time.perf_counter()
        probabilities = predict_with_flips(model, x_val, batch_size=1000)
        timings["flips"].append(time.perf_counter() - start)
    return {
        "validation accuracy, flip TTA": float(np.mean(probabilities.argmax(axis=1) == y_val)),
        "predict seconds": min(timings["plain"]),
        "predict seconds, flip TTA": min(timings["flips"]),
    }


def run_classical_baseline(train_size: int = 60000, max_iter: int = 1000) -> dict[str, Any]:
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
        "run": BASELINE_RUN, "seed": DEFAULT_RECIPE.seed, "comparison": "", "model": "linear, on pixels",
        "optimizer": "lbfgs", "learning rate": float("nan"), "batch size": len(x_fit),
        "epochs": iterations, "validation accuracy": classifier.score(pixels(x_val), y_val),
        "test accuracy": classifier.score(pixels(x_test), y_test), "training seconds": seconds,
        "converged": iterations < max_iter,
    }


def thread_caps(threads: int) -> dict[str, str]:
    """The environment that caps a run at ``threads`` threads (see :data:`THREAD_VARIABLES`).

    Parameters
    ----------
    threads
        Threads per run, at least 1.

    Returns
    -------
    dict
        Each of :data:`THREAD_VARIABLES`, set to ``threads``.

    Raises
    ------
    ValueError
        If ``threads`` is below 1.
    """
    if threads < 1:
        raise ValueError(f"a run needs at least 1 thread, got threads={threads}")
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity, where the system reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: The fewest threads a run gets on a local cluster unless asked otherwise: the book's
#: training times (chapter 7's table, the headline model's minutes) are for 2 cores.
MIN_THREADS_PER_RUN = 2


def check_options(scheduler: str | None, workers: int | None, threads_per_run: int | None) -> None:
    """Refuse sizes below 1, and ``workers`` together with ``scheduler``.

    Parameters
    ----------
    scheduler, workers, threads_per_run
        As for :func:`run_sweep`.

    Raises
    ------
    ValueError
        Naming the option and what it should be.
    """
    for label, value in (("workers", workers), ("threads_per_run", threads_per_run)):
        if value is not None and value < 1:
            raise ValueError(f"{label} must be at least 1, got {label}={value}")
    if scheduler is not None and workers is not None:
        raise ValueError(f"workers={workers} sizes a local cluster; the cluster at {scheduler} "
                         f"has its own workers, so pass one or the other")


def plan_local_cluster(cores: int, runs: int, workers: int | None = None,
                       threads_per_run: int | None = None) -> tuple[int, int]:
    """Size a local cluster: how many runs at once, and how many threads each.

    By default the cores are shared out among as many runs as can start at once, but a run
    gets at least :data:`MIN_THREADS_PER_RUN` threads, as on the 2-core machine the book's
    training times come from: 10 runs on 2 cores run one at a time on both cores, 10 runs on
    8 cores 4 at a time on 2 threads each, 2 runs on 8 cores 2 at a time on 4 threads each.

    Parameters
    ----------
    cores
        The machine's cores.
    runs
        How many tasks the sweep has.
    workers
        Runs at once (one single-threaded Dask worker process each); by default as many as
        the cores allow.
    threads_per_run
        Threads of each run; by default the cores divided among the workers.

    Returns
    -------
    tuple of int
        ``(workers, threads_per_run)``.

    Raises
    ------
    ValueError
        If ``workers`` or ``threads_per_run`` is below 1.
    """
    check_options(None, workers, threads_per_run)
    if threads_per_run is None:
        shared = cores // (workers or max(1, min(runs, cores)))
        threads_per_run = max(1, min(cores, max(MIN_THREADS_PER_RUN, shared)))
    if workers is None:
        workers = max(1, min(runs, cores // threads_per_run))
    return workers, threads_per_run


def _threads_per_run_on(client: Any) -> int:
    """Threads per run on an existing cluster: each host's cores over its workers' threads."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    threads_on_host: collections.Counter[str] = collections.Counter()
    for info in workers.values():
        threads_on_host[info["host"]] += info["nthreads"]
    cores_on_host = {workers[address]["host"]: cores
                     for address, cores in client.run(available_cores).items() if address in workers}
    shares = [cores_on_host[host] // threads for host, threads in threads_on_host.items()
              if host in cores_on_host]
    return max(1, min(shares, default=1))


def _chapter_parameters(recipe: Recipe, quick: bool) -> dict[str, Any]:
    """The training chapter's parameters for one run: a ``sweep`` profile that asserts no accuracy."""
    return Profile("sweep", recipe, train_size=2000 if quick else 60000, min_test_accuracy=0.0).parameters()


@contextlib.contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the ``with`` block, then put back what was there."""
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute_run(name: str, recipe: Recipe, quick: bool = False, threads: int = 1,
                results_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Execute one run of the sweep on this machine: the task each Dask worker runs.

    It needs the installed package and its checkout's ``book/5_train.ipynb``, nothing from the
    machine that submitted it. The chapter's cells tagged
    :data:`~fmnist_helpers.book.LESSON_ONLY_TAG` (its early-stopping demo and exercise
    solutions) are left out.

    Parameters
    ----------
    name
        The run's name (with the seed, its folder's name).
    recipe
        What to train, with the run's seed.
    quick
        One epoch on 2,000 images.
    threads
        Cap on the threads of the chapter's kernel and of the flip scoring (:func:`thread_caps`),
        set in this process's environment while the run lasts.
    results_dir
        Where the run's folder goes, on this machine; by default :data:`RESULTS_DIR`.

    Returns
    -------
    dict
        ``"row"``: its row of the table (:func:`collect_run`); ``"history"``: its learning curves.

    Raises
    ------
    SweepRunError
        If a cell of the chapter raised; it names the error and the executed notebook.
    """
    import papermill

    folder = Path(results_dir or RESULTS_DIR) / _run_folder(name, recipe.seed)
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / "5_train.ipynb"
    with _environment(thread_caps(threads)):  # read by the kernel papermill starts
        try:
            execute_chapter("5_train", output_dir=folder, artifacts_dir=folder,
                            parameters=_chapter_parameters(recipe, quick), keep_timings=True,
                            skip_tags={LESSON_ONLY_TAG})
        except papermill.PapermillExecutionError as error:
            raise SweepRunError(f"{error.ename}: {error.evalue} (in cell {error.exec_count} of "
                                f"{notebook}, on {platform.node()})") from None
        row = collect_run(name, recipe, notebook, folder)
        result = {"row": row, "history": json.loads((folder / "history.json").read_text())}
        if name == FLIP_TTA_RUN and not quick:
            row.update(score_with_flips(folder / "model.keras", recipe.seed))
        if name == HEADLINE_RUN and not quick and recipe.seed == 0:  # for the client's artifacts/
            result["model"] = (folder / "model.keras").read_bytes()
    return result


def save_headline_model(model: bytes, artifacts_dir: str | os.PathLike[str] = DEFAULT_MODEL_PATH.parent) -> Path:
    """Save the headline run's model where chapter 8 and ``predict`` look for it first.

    The file is written beside itself and then renamed, so an interrupted write never
    leaves a broken model where a valid one is expected.

    Parameters
    ----------
    model
        The bytes of the run's ``model.keras``.
    artifacts_dir
        By default ``artifacts/`` of this checkout (:func:`~fmnist_helpers.inference.best_model_path`).

    Returns
    -------
    Path
        ``artifacts_dir/headline_model.keras``.
    """
    target = Path(artifacts_dir) / HEADLINE_MODEL_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(model)
    partial.replace(target)
    return target


def _fit_baseline(train_size: int, threads: int) -> dict[str, Any]:
    """:func:`run_classical_baseline` as a task, capped at ``threads`` threads."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        return {"row": run_classical_baseline(train_size), "history": None}


def format_failure(name: str, parameters: Mapping[str, Any], error: BaseException) -> str:
    """One line that says which run failed, with which parameters, and why.

    Parameters
    ----------
    name
        The run's name.
    parameters
        What it ran with.
    error
        What it raised.

    Returns
    -------
    str
        ``[sweep] FAILED 'name' (key=value, ...): Error: message``, on one line.
    """
    settings = ", ".join(f"{key}={value!r}" for key, value in parameters.items())
    kind = "" if isinstance(error, SweepRunError) else f"{type(error).__name__}: "
    message = " ".join(str(error).split())
    return f"[sweep] FAILED {name!r} ({settings}): {kind}{message}"


@contextlib.contextmanager
def _connect(scheduler: str | None, workers: int | None, threads_per_run: int | None,
             tasks: int) -> Iterator[tuple[Any, int]]:
    """A client of the cluster at ``scheduler``, or of a new local one; and threads per run."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            if threads_per_run is None:
                threads_per_run = _threads_per_run_on(client)
            workers = len(client.scheduler_info(n_workers=-1)["workers"])
            print(f"[sweep] Dask cluster at {scheduler}: {workers} worker(s) now, "
                  f"{threads_per_run} thread(s) per run", flush=True)
            yield client, threads_per_run
        return
    workers, threads_per_run = plan_local_cluster(available_cores(), tasks, workers, threads_per_run)
    print(f"[sweep] local Dask cluster: {workers} worker(s), {threads_per_run} thread(s) per run",
          flush=True)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client, threads_per_run


def run_sweep(
    names: Sequence[str] = tuple(SWEEP),
    quick: bool = False,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    threads_per_run: int | None = None,
    results_dir: str | os.PathLike[str] | None = None,
    seeds: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Execute the training chapter once per run and seed on a Dask cluster, then collect the table.

    Each run and seed is one task (:func:`execute_run`), and so is the classical baseline.
    Their rows and curves come back here, where the table is written.

    Parameters
    ----------
    names
        Runs of :data:`SWEEP` to execute, each with every seed of :func:`seeds_of`. All of
        them (the default) also fit the classical baseline and rewrite the table; a subset
        replaces only its own rows and curves (and drops those of runs no longer in SWEEP).
    quick
        One epoch on 2,000 images per run, written to ``results/`` only (not the book).
    scheduler
        The address of an existing Dask scheduler, such as ``"tcp://10.0.0.5:8786"``; by
        default a local cluster sized by :func:`plan_local_cluster`.
    workers
        The local cluster's runs at once (not with ``scheduler``).
    threads_per_run
        Cap on each run's threads; by default the cores shared out among the runs at once,
        at least :data:`MIN_THREADS_PER_RUN` (see :func:`plan_local_cluster`; on an existing
        cluster: each host's cores over its workers' threads).
    results_dir
        Where the runs' folders go on each worker, and the quick table; by default
        :data:`RESULTS_DIR` of each worker's checkout.
    seeds
        Run every name with these seeds instead of its own (:func:`seeds_of`).

    Returns
    -------
    pandas.DataFrame
        One row per run and seed, plus the classical baseline.

    Raises
    ------
    SweepError
        After the table is written, if any run failed: one line per failed run, with its
        parameters and error. Failed runs keep their previous rows, if any.
    ValueError
        If ``workers`` is given with ``scheduler``, a size is below 1 (:func:`check_options`),
        or a name is not in :data:`SWEEP`.
    """
    check_options(scheduler, workers, threads_per_run)
    unknown = [name for name in names if name not in SWEEP]
    if unknown:
        raise ValueError(f"unknown runs {unknown}; expected names from SWEEP: {', '.join(SWEEP)}")
    from distributed import as_completed

    every_run = list(names) == list(SWEEP)
    recipes = {(name, seed): dataclasses.replace(SWEEP[name], seed=seed, **({"epochs": 1} if quick else {}))
               for name in names for seed in (seeds_of(name) if seeds is None else seeds)}
    parameters: dict[tuple[str, int], dict[str, Any]] = {
        key: _chapter_parameters(recipe, quick) for key, recipe in recipes.items()}
    baseline = (BASELINE_RUN, DEFAULT_RECIPE.seed)
    if every_run:
        parameters[baseline] = {"train_size": 2000 if quick else 60000}
    start = time.perf_counter()
    token = uuid.uuid4().hex[:8]  # task keys: readable on the dashboard, unique on a shared cluster
    results: dict[tuple[str, int], dict[str, Any]] = {}
    failures: dict[tuple[str, int], str] = {}
    with _connect(scheduler, workers, threads_per_run, len(parameters)) as (client, threads):
        tasks = {
            client.submit(execute_run, name, recipe, quick, threads, results_dir,
                          key=f"sweep-{_run_folder(name, seed)}-{token}"): (name, seed)
            for (name, seed), recipe in recipes.items()
        }
        if every_run:
            tasks[client.submit(_fit_baseline, parameters[baseline]["train_size"], threads,
                                key=f"sweep-baseline-{token}")] = baseline
        for (name, seed), recipe in recipes.items():
            print(f"[sweep] submitted {name}, seed {seed}: {recipe}", flush=True)
        for future in as_completed(tasks):
            key = tasks[future]
            label = f"{key[0]}, seed {key[1]}"
            try:
                results[key] = future.result()
            except Exception as error:  # one run's failure must not stop the others
                failures[key] = format_failure(label, parameters[key], error)
                print(failures[key], flush=True)
            else:
                if "model" in results[key]:
                    path = save_headline_model(results[key].pop("model"))
                    print(f"[sweep] saved the headline model to {path}", flush=True)
                minutes = (time.perf_counter() - start) / 60
                print(f"[sweep] done {label} ({len(results) + len(failures)}/{len(tasks)}, "
                      f"{minutes:.1f} min)", flush=True)
    target = Path(results_dir or RESULTS_DIR) if quick else DATA_DIR
    table = _write_results(results, [*recipes, baseline], target,
                           replace_all=every_run and not failures) if results else None
    if table is not None:
        if not quick:
            write_manifest()  # chapters run alone fetch these files and check them against it
        print(table.to_string(index=False))
    if failures:
        written = f"the others were written to {target}" if results else "nothing was written"
        lines = "\n".join(failures[key] for key in parameters if key in failures)
        raise SweepError(f"[sweep] {len(failures)} of {len(parameters)} runs failed ({written}; "
                         f"failed runs keep their previous rows, if any):\n{lines}",
                         {f"{name}, seed {seed}": line for (name, seed), line in failures.items()},
                         table)
    return table


def history_key(name: str, seed: int) -> str:
    """The key of run ``name``'s curves with ``seed`` in ``histories.json``: ``"name, seed N"``."""
    return f"{name}, seed {seed}"


def _write_results(results: dict[tuple[str, int], dict[str, Any]], order: Sequence[tuple[str, int]],
                   target: Path, replace_all: bool) -> pd.DataFrame:
    """Write the runs' rows and curves to ``target``, replacing only their own unless ``replace_all``."""
    target.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame([results[key]["row"] for key in order if key in results])
    histories = {history_key(*key): result["history"] for key in order
                 if (result := results.get(key)) and result["history"] is not None}
    if not replace_all and (target / "experiments.csv").is_file():
        # Re-running some runs: replace their rows and curves, keep the others.
        previous = pd.read_csv(target / "experiments.csv")
        done = set(zip(table["run"], table["seed"]))
        # Keep the other runs' rows, except those of runs the sweep no longer has.
        current = {*SWEEP, BASELINE_RUN}
        previous = previous[[(run, seed) not in done and run in current
                             for run, seed in zip(previous["run"], previous["seed"])]]
        table = pd.concat([previous, table])
        ranks: dict[str, int] = {}
        for name in [*SWEEP, *previous["run"]]:  # the sweep's order, then any other run's
            ranks.setdefault(name, len(ranks))
        table = table.sort_values(["run", "seed"], key=lambda column: column.map(ranks)
                                  if column.name == "run" else column, kind="stable")
        kept = {history_key(run, seed) for run, seed in zip(table["run"], table["seed"])}
        old = json.loads((target / "histories.json").read_text())
        histories = {**{key: curve for key, curve in old.items() if key in kept}, **histories}
    table.to_csv(target / "experiments.csv", index=False)
    (target / "histories.json").write_text(json.dumps(histories))
    return table


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (see the module's usage line)."""
    parser = argparse.ArgumentParser(prog="python -m fmnist_helpers.sweep", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 epoch on 2,000 images per run")
    parser.add_argument("--runs", nargs="+", choices=list(SWEEP), default=list(SWEEP),
                        help="runs to execute, each with all its seeds (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, metavar="SEED",
                        help=f"run each name with these seeds only (default: "
                             f"{' '.join(map(str, SEEDS))} for the comparisons' recipes and the "
                             f"best model, 0 for the others)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="an existing Dask scheduler, such as tcp://10.0.0.5:8786 "
                             "(default: a local cluster sized to this machine's cores)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="runs at once on the local cluster (default: as the cores allow)")
    parser.add_argument("--threads-per-run", type=int, metavar="N",
                        help="cap on each run's threads (default: the cores shared out, at "
                             f"least {MIN_THREADS_PER_RUN})")
    args = parser.parse_args(argv)
    try:
        check_options(args.scheduler, args.workers, args.threads_per_run)
    except ValueError as error:  # named as run_sweep's arguments: --threads-per-run is threads_per_run
        parser.error(str(error))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (1 if any run failed)."""
    args = parse_args(argv)
    try:
        run_sweep(args.runs, quick=args.quick, scheduler=args.scheduler, workers=args.workers,
                  threads_per_run=args.threads_per_run, seeds=args.seeds)
    except SweepError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
