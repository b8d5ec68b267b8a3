"""Tests of fmnist_helpers/sweep.py: its parts (fast), and a quick sweep on a local Dask cluster (slow)."""

import dataclasses
import json
import os
import re

import numpy as np
import pandas as pd
import pandas.testing as pdt
import papermill
import pytest

from fmnist_helpers import DEFAULT_RECIPE, ORIGINAL_RECIPE, sweep
from fmnist_helpers.book import BOOK_DIR, LESSON_ONLY_TAG, TRAINING_TAG, kernel_config
from fmnist_helpers.experiments import COMPARISONS, SEEDS
from fmnist_helpers.sweep import (SWEEP, THREAD_VARIABLES, SweepError, SweepRunError, collect_run,
                                  format_failure, parse_args, plan_local_cluster, run_classical_baseline,
                                  run_sweep, thread_caps)

from .conftest import CHAPTER_5_LESSON_ONLY_CELLS


def test_every_compared_recipe_runs_with_five_seeds_and_the_original_recipe_runs_whole():
    compared = {name for comparison in COMPARISONS for name in (comparison.base, *comparison.variants)}
    assert compared <= set(SWEEP)
    assert all(len(sweep.seeds_of(name)) >= 5 for name in compared)
    (whole,) = [name for name, recipe in SWEEP.items() if recipe == ORIGINAL_RECIPE]
    assert sweep.seeds_of(whole) == (0,) and SWEEP[whole].epochs == 20
    assert sweep.comparisons_of(whole) == ""
    assert sweep.comparisons_of("wide CNN") == "width; flips"


def test_collect_run_reads_metrics_and_papermill_duration(tmp_path):
    notebook = {"cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"], "papermill": {"duration": 0.1}}},
        {"cell_type": "code", "metadata": {"tags": ["training"], "papermill": {"duration": 42.5}}},
    ]}  # fmt: skip
    (tmp_path / "run.ipynb").write_text(json.dumps(notebook))
    (tmp_path / "metrics.json").write_text(
        json.dumps({"test_accuracy": 0.9, "test_loss": 0.3, "val_accuracy": 0.91}))
    (tmp_path / "history.json").write_text(json.dumps({"val_accuracy": [0.8, 0.9, 0.92, 0.91, 0.93]}))
    recipe = dataclasses.replace(SWEEP["default recipe"], epochs=5, seed=2)
    row = collect_run("default recipe", recipe, tmp_path / "run.ipynb", tmp_path)
    assert row["training seconds"] == 42.5 and row["test accuracy"] == 0.9
    assert row["validation accuracy"] == 0.91
    assert row["epochs"] == 5 and row["seed"] == 2
    assert row["comparison"] == "convolutions; batch norm; width; dropout; batch size; epochs"


@pytest.mark.slow  # fits on real images
def test_classical_baseline_learns_something(real_data):
    row = run_classical_baseline(train_size=500, max_iter=5)
    assert row["run"] == "logistic regression (scikit-learn)"
    assert 0.5 < row["test accuracy"] < 1.0 and 0.5 < row["validation accuracy"] < 1.0  # chance is 0.1
    assert row["epochs"] == 5 and not row["converged"]  # 5 iterations are not enough
    assert not np.isnan(row["training seconds"])


@pytest.mark.slow  # loads TensorFlow and predicts the validation images
def test_score_with_flips_scores_the_runs_own_validation_images(real_data, tmp_path):
    from fmnist_helpers import build_mlp, load_data, preprocess_images, split_validation
    from fmnist_helpers.sweep import score_with_flips

    model = build_mlp()
    model.save(tmp_path / "model.keras")
    scores = score_with_flips(tmp_path / "model.keras", seed=1, repeats=1)
    assert set(scores) == {"validation accuracy, flip TTA", "predict seconds",
                           "predict seconds, flip TTA"}
    (x_train, y_train), _ = load_data()
    _, (x_val, y_val) = split_validation(preprocess_images(x_train), y_train,
                                         validation_size=0.1, seed=1)
    # the average of the plain and the mirrored predictions, on seed 1's validation images
    average = (model.predict(x_val, verbose=0) + model.predict(x_val[:, :, ::-1], verbose=0)) / 2
    expected = np.mean(average.argmax(axis=1) == y_val)
    assert scores["validation accuracy, flip TTA"] == pytest.approx(expected, abs=1e-4)
    assert scores["predict seconds"] > 0 and scores["predict seconds, flip TTA"] > 0


# The sweep on Dask: sizing, thread caps, failure reports (fast), and whole sweeps (slow).

def test_execute_run_caps_threads_and_skips_lesson_only_cells(monkeypatch, tmp_path):
    seen = {}

    def fake_execute_chapter(chapter, **kwargs):
        seen.update(kwargs, chapter=chapter, environment=dict(os.environ))
        folder = kwargs["output_dir"]
        training = {"cell_type": "code", "metadata": {"tags": [TRAINING_TAG], "papermill": {"duration": 1.5}}}
        (folder / "5_train.ipynb").write_text(json.dumps({"cells": [training]}))
        (folder / "metrics.json").write_text(json.dumps({"test_accuracy": 0.8, "val_accuracy": 0.81}))
        (folder / "history.json").write_text(json.dumps({"loss": [1.0], "val_accuracy": [0.81]}))

    for variable in THREAD_VARIABLES:
        monkeypatch.setenv(variable, "restored after the test")
    monkeypatch.setattr(sweep, "execute_chapter", fake_execute_chapter)
    result = sweep.execute_run("MLP", SWEEP["MLP"], quick=True, threads=3, results_dir=tmp_path)
    assert seen["chapter"] == "5_train" and seen["skip_tags"] == {LESSON_ONLY_TAG}
    assert seen["keep_timings"] and seen["parameters"]["train_size"] == 2000
    assert all(seen["environment"][variable] == "3" for variable in THREAD_VARIABLES)
    assert all(os.environ[variable] == "restored after the test" for variable in THREAD_VARIABLES)
    assert result["row"]["training seconds"] == 1.5 and result["history"]["loss"] == [1.0]
    assert seen["output_dir"] == tmp_path / "MLP_seed_0"


def test_a_failing_cell_becomes_one_line_naming_the_error_and_notebook(monkeypatch, tmp_path):
    def failing_execute_chapter(chapter, **kwargs):
        raise papermill.PapermillExecutionError(
            cell_index=17, exec_count=9, source="model = build_model(...)", ename="ValueError",
            evalue="unknown model 'nope'; expected one of mlp, fast_cnn", traceback=["..."])

    monkeypatch.setattr(sweep, "execute_chapter", failing_execute_chapter)
    for variable in THREAD_VARIABLES:
        monkeypatch.setenv(variable, "restored after the test")
    with pytest.raises(SweepRunError,
                       match=r"^ValueError: unknown model 'nope'; .* \(in cell 9 of .*5_train\.ipynb"):
        sweep.execute_run("broken", SWEEP["MLP"], results_dir=tmp_path)


def test_format_failure_gives_name_parameters_and_error_on_one_line():
    line = format_failure("broken", {"model_name": "nope", "epochs": 1},
                          ValueError("unknown model 'nope';\n  expected one of mlp"))
    assert line == ("[sweep] FAILED 'broken' (model_name='nope', epochs=1): "
                    "ValueError: unknown model 'nope'; expected one of mlp")
    line = format_failure("broken", {}, SweepRunError("KeyError: 'x'"))
    assert line == "[sweep] FAILED 'broken' (): KeyError: 'x'"


@pytest.mark.parametrize(("cores", "runs", "workers", "threads", "expected"), [
    (2, 10, None, None, (1, 2)),
    (8, 10, None, None, (4, 2)),
    (8, 2, None, None, (2, 4)),
    (2, 1, None, None, (1, 2)),
    (64, 10, None, None, (10, 6)),
    (2, 10, 1, None, (1, 2)),
    (2, 10, None, 2, (1, 2)),
    (1, 10, 2, None, (2, 1)),
], ids=["2 cores, 10 runs", "8 cores, 10 runs", "8 cores, 2 runs", "2 cores, 1 run", "64 cores, 10 runs", "1 worker",
        "2 threads", "more workers than cores"])  # fmt: skip
def test_plan_local_cluster_shares_the_cores_out(cores, runs, workers, threads, expected):
    assert plan_local_cluster(cores, runs, workers, threads) == expected


def test_sizes_below_one_are_refused():
    with pytest.raises(ValueError, match=r"workers must be at least 1, got workers=0"):
        plan_local_cluster(2, 10, workers=0)
    with pytest.raises(ValueError, match=r"threads_per_run must be at least 1, got threads_per_run=0"):
        plan_local_cluster(2, 10, threads_per_run=0)
    with pytest.raises(ValueError, match=r"a run needs at least 1 thread, got threads=0"):
        thread_caps(0)
    assert thread_caps(2) == dict.fromkeys(THREAD_VARIABLES, "2")


def test_command_line_options(capsys):
    args = parse_args([])
    assert args.runs == list(SWEEP) and not args.quick
    assert args.scheduler is None and args.workers is None and args.threads_per_run is None
    args = parse_args(["--quick", "--scheduler", "tcp://10.0.0.5:8786", "--threads-per-run", "4"])
    assert args.scheduler == "tcp://10.0.0.5:8786" and args.threads_per_run == 4
    for argv, message in [
        (["--scheduler", "tcp://10.0.0.5:8786", "--workers", "2"],
         "workers=2 sizes a local cluster; the cluster at tcp://10.0.0.5:8786 has its own workers"),
        (["--workers", "0"], "workers must be at least 1, got workers=0"),
        (["--threads-per-run", "0"], "threads_per_run must be at least 1, got threads_per_run=0"),
    ]:
        with pytest.raises(SystemExit):
            parse_args(argv)
        assert message in capsys.readouterr().err


def test_run_sweep_checks_its_arguments_before_starting_a_cluster():
    with pytest.raises(ValueError, match=r"workers=2 sizes a local cluster; the cluster at tcp://x:8786 has"):
        run_sweep(["MLP"], scheduler="tcp://x:8786", workers=2)
    with pytest.raises(ValueError, match=r"threads_per_run must be at least 1, got threads_per_run=0"):
        run_sweep(["MLP"], scheduler="tcp://x:8786", threads_per_run=0)
    with pytest.raises(ValueError, match=r"unknown runs \['nope'\]; expected names from SWEEP: default recipe"):
        run_sweep(["nope"])


def test_main_exits_1_and_prints_the_failures(monkeypatch, capsys):
    def failing_sweep(*args, **kwargs):
        message = "[sweep] 1 of 2 runs failed (...):\n[sweep] FAILED 'x' (): boom"
        raise SweepError(message, {"x": "boom"}, None)

    monkeypatch.setattr(sweep, "run_sweep", failing_sweep)
    assert sweep.main(["--quick"]) == 1
    assert "[sweep] FAILED 'x' (): boom" in capsys.readouterr().err


def test_failed_runs_keep_their_previous_rows(tmp_path):
    def result(name, seed, accuracy):
        return {"row": {"run": name, "seed": seed, "test accuracy": accuracy}, "history": {"loss": [accuracy]}}

    order = [(name, seed) for name in SWEEP for seed in SEEDS]
    first = {("MLP", 0): result("MLP", 0, 0.1), ("default recipe", 0): result("default recipe", 0, 0.2),
             ("default recipe", 1): result("default recipe", 1, 0.4)}
    sweep._write_results(first, order, tmp_path, replace_all=True)
    table = sweep._write_results({("default recipe", 0): result("default recipe", 0, 0.3)}, order, tmp_path,
                                 replace_all=False)
    assert list(zip(table["run"], table["seed"])) == [("default recipe", 0), ("default recipe", 1), ("MLP", 0)]
    assert table["test accuracy"].tolist() == [0.3, 0.4, 0.1]
    assert json.loads((tmp_path / "histories.json").read_text()) == {
        "MLP, seed 0": {"loss": [0.1]}, "default recipe, seed 0": {"loss": [0.3]},
        "default recipe, seed 1": {"loss": [0.4]}}


class _Done:
    """A task that already ran, as a Dask future reports it."""

    def __init__(self, function, *args):
        try:
            self.value, self.error = function(*args), None
        except Exception as error:
            self.value, self.error = None, error

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


@pytest.fixture
def in_process_cluster(monkeypatch):
    """run_sweep's cluster replaced by one that runs each task at once, in this process."""
    import contextlib

    import distributed

    class Client:
        def submit(self, function, *args, key):
            return _Done(function, *args)

    @contextlib.contextmanager
    def connect(scheduler, workers, threads_per_run, tasks):
        yield Client(), 1

    monkeypatch.setattr(sweep, "_connect", connect)
    monkeypatch.setattr(distributed, "as_completed", list)


def test_only_a_complete_sweep_without_failures_replaces_the_whole_table(in_process_cluster, monkeypatch,
                                                                        tmp_path):
    def fake_run(name, recipe, quick, threads, results_dir):
        if (name, recipe.seed) in failing:
            raise SweepRunError("ValueError: boom")
        return {"row": {"run": name, "seed": recipe.seed, "test accuracy": accuracy},
                "history": {"loss": [accuracy]}}

    monkeypatch.setattr(sweep, "execute_run", fake_run)
    monkeypatch.setattr(sweep, "_fit_baseline", lambda train_size, threads: {
        "row": {"run": sweep.BASELINE_RUN, "seed": 0, "test accuracy": accuracy}, "history": None})
    everything = [(name, seed) for name in SWEEP for seed in sweep.seeds_of(name)] + [(sweep.BASELINE_RUN, 0)]

    def keys(table):
        return list(zip(table["run"], table["seed"]))

    failing, accuracy = set(), 0.1
    run_sweep(quick=True, results_dir=tmp_path)
    table = pd.read_csv(tmp_path / "experiments.csv")
    assert keys(table) == everything and (table["test accuracy"] == 0.1).all()

    failing, accuracy = {("default recipe", 1)}, 0.2  # a complete sweep with a failure keeps that row
    with pytest.raises(SweepError, match=r"1 of \d+ runs failed") as failed:
        run_sweep(quick=True, results_dir=tmp_path)
    assert list(failed.value.failures) == ["default recipe, seed 1"]
    table = pd.read_csv(tmp_path / "experiments.csv")
    assert keys(table) == everything
    kept = (table["run"] == "default recipe") & (table["seed"] == 1)
    assert table.loc[kept, "test accuracy"].tolist() == [0.1]
    assert (table.loc[~kept, "test accuracy"] == 0.2).all()

    failing, accuracy = set(), 0.3  # without failures, the table is rewritten, stale rows gone
    table.assign(run=lambda t: t["run"].replace({"MLP": "a run since removed"})).to_csv(
        tmp_path / "experiments.csv", index=False)
    run_sweep(quick=True, results_dir=tmp_path)
    table = pd.read_csv(tmp_path / "experiments.csv")
    assert keys(table) == everything and (table["test accuracy"] == 0.3).all()

    run_sweep(["MLP"], quick=True, results_dir=tmp_path, seeds=[5])  # --seeds: only those
    table = pd.read_csv(tmp_path / "experiments.csv")
    after_mlp = everything.index(("MLP", max(SEEDS))) + 1
    assert keys(table) == [*everything[:after_mlp], ("MLP", 5), *everything[after_mlp:]]


#: The smoke grid: two quick runs of different models; the failing run cannot build its model.
SMOKE_RUNS = ["MLP", "default recipe"]
BROKEN_RECIPE = dataclasses.replace(DEFAULT_RECIPE, model_name="no_such_model")
#: What varies between two runs of the same code.
TIMING_COLUMNS = ["training seconds"]


@pytest.fixture(scope="module")
def two_worker_sweep(tmp_path_factory):
    """The smoke grid and one failing run, on a two-worker local cluster, 1 thread per run."""
    results_dir = tmp_path_factory.mktemp("two-workers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(SWEEP, "broken recipe", BROKEN_RECIPE)
        with pytest.raises(SweepError) as failed:
            run_sweep([*SMOKE_RUNS, "broken recipe"], quick=True, workers=2, threads_per_run=1,
                      results_dir=results_dir, seeds=[0])
    return results_dir, failed.value


@pytest.mark.slow
def test_a_failing_run_is_reported_while_the_others_land(two_worker_sweep):
    results_dir, error = two_worker_sweep
    assert list(error.failures) == ["broken recipe, seed 0"]
    assert re.search(r"^\[sweep\] FAILED 'broken recipe, seed 0' \(profile='sweep', model_name='no_such_model', .*"
                     r"train_size=2000, min_test_accuracy=0\.0\): "
                     r"ValueError: unknown model 'no_such_model'; expected one of .* "
                     r"\(in cell \d+ of .*5_train\.ipynb", error.failures["broken recipe, seed 0"])
    assert str(error).startswith("[sweep] 1 of 3 runs failed")
    assert error.failures["broken recipe, seed 0"] in str(error).splitlines()
    table = pd.read_csv(results_dir / "experiments.csv")
    assert table["run"].tolist() == SMOKE_RUNS
    assert set(json.loads((results_dir / "histories.json").read_text())) == {
        sweep.history_key(name, 0) for name in SMOKE_RUNS}


@pytest.mark.slow
def test_runs_leave_out_the_lesson_only_cells(two_worker_sweep):
    results_dir, _ = two_worker_sweep
    executed = json.loads((results_dir / "default_recipe_seed_0" / "5_train.ipynb").read_text())
    chapter = json.loads((BOOK_DIR / "5_train.ipynb").read_text())
    def ids(notebook, keep):
        return [c["id"] for c in notebook["cells"] if keep(c.get("metadata", {}).get("tags", []))
                and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]

    lesson_only = ids(chapter, lambda tags: LESSON_ONLY_TAG in tags)
    assert len(lesson_only) == CHAPTER_5_LESSON_ONLY_CELLS
    assert ids(executed, lambda tags: True) == ids(chapter, lambda tags: LESSON_ONLY_TAG not in tags)


@pytest.mark.slow
def test_two_workers_give_the_sequential_table(two_worker_sweep, tmp_path):
    results_dir, error = two_worker_sweep
    parallel = error.table.drop(columns=TIMING_COLUMNS).reset_index(drop=True)
    sequential = run_sweep(SMOKE_RUNS, quick=True, workers=1, threads_per_run=1, results_dir=tmp_path,
                           seeds=[0])
    pdt.assert_frame_equal(parallel, sequential.drop(columns=TIMING_COLUMNS).reset_index(drop=True),
                           check_exact=True)  # seeded, same threads: the same digits
    assert (json.loads((results_dir / "histories.json").read_text())
            == json.loads((tmp_path / "histories.json").read_text()))


@pytest.mark.slow
def test_the_chapters_kernel_inherits_the_thread_caps(monkeypatch, tmp_path):
    import nbformat

    for variable, value in thread_caps(1).items():
        monkeypatch.setenv(variable, value)
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"import os; print([os.environ.get(name) for name in {list(THREAD_VARIABLES)}])")])
    probe.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(probe, tmp_path / "probe.ipynb")
    executed = papermill.execute_notebook(tmp_path / "probe.ipynb", tmp_path / "out.ipynb",
                                          kernel_name="python3", progress_bar=False,
                                          config=kernel_config())  # as the sweep's kernels start
    assert executed.cells[0].outputs[0]["text"].strip() == str(["1"] * len(THREAD_VARIABLES))


def test_the_sweep_extra_accepts_the_pinned_dask():
    import tomllib

    from packaging.requirements import Requirement

    root = BOOK_DIR.parent
    extra = {Requirement(line).name: Requirement(line) for line in
             tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["sweep"]}
    pins = {Requirement(line.split("#")[0]).name: Requirement(line.split("#")[0])
            for line in (root / "requirements.txt").read_text().splitlines()
            if line.split("#")[0].strip() and not line.startswith("-")}
    for name in ("dask", "distributed", "papermill", "ipykernel"):
        (pinned,) = pins[name].specifier
        assert extra[name].specifier.contains(pinned.version), (name, pinned.version)


def test_save_headline_model_puts_it_where_chapter_8_looks_first(tmp_path):
    from fmnist_helpers.inference import best_model_path
    from fmnist_helpers.sweep import save_headline_model

    path = save_headline_model(b"model bytes", tmp_path / "artifacts")
    assert path.read_bytes() == b"model bytes"
    assert best_model_path(tmp_path / "artifacts") == path
    assert [file.name for file in path.parent.iterdir()] == [path.name]  # no partial file left


def test_a_partial_sweep_drops_the_rows_of_runs_the_sweep_no_longer_has(tmp_path):
    def result(name, seed):
        return {"row": {"run": name, "seed": seed}, "history": {"loss": [0.5]}}

    old = {("retired recipe", 0): result("retired recipe", 0), ("MLP", 0): result("MLP", 0),
           (sweep.BASELINE_RUN, 0): result(sweep.BASELINE_RUN, 0)}
    sweep._write_results(old, list(old), tmp_path, replace_all=True)
    table = sweep._write_results({("MLP", 1): result("MLP", 1)}, [("MLP", 1)], tmp_path,
                                 replace_all=False)
    assert list(zip(table["run"], table["seed"])) == [("MLP", 0), ("MLP", 1), (sweep.BASELINE_RUN, 0)]
    assert set(json.loads((tmp_path / "histories.json").read_text())) == {
        "MLP, seed 0", "MLP, seed 1", f"{sweep.BASELINE_RUN}, seed 0"}
