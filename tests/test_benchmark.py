"""Tests of benchmarks/train_speed.py: its arithmetic, its report and one tiny real run."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fmnist_helpers import DEFAULT_RECIPE

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"
_spec = importlib.util.spec_from_file_location("train_speed", SCRIPT)
train_speed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_speed)

RUN = {"model": "fast_cnn", "optimizer": "adam", "learning_rate": 2e-3, "batch_size": 128,
       "epochs": 3, "precision": "float32", "backend": "tensorflow", "note": "test"}


def result(seconds, accuracy, images=60000):
    return {"epoch_seconds": seconds, "test_accuracy": accuracy, "train_images": images,
            "train_flops_per_image": 1e6, "backend": "tensorflow"}


def test_the_default_run_trains_the_books_recipe_through_train_model(monkeypatch):
    """The benchmark's "default" row times exactly what chapter 5 trains, by the same function."""
    import numpy as np

    import fmnist_helpers

    images = np.zeros((8, 28, 28), dtype=np.uint8)
    labels = np.arange(8, dtype=np.uint8)
    monkeypatch.setattr(fmnist_helpers, "load_data", lambda: ((images, labels), (images, labels)))
    trained = []

    class Trained(Exception):
        pass

    def recording_train_model(recipe, x_train, y_train, **kwargs):
        trained.append((recipe, len(x_train), kwargs["validation_data"][0].shape))
        raise Trained  # the recipe is all this test needs; no training

    monkeypatch.setattr(fmnist_helpers, "train_model", recording_train_model)
    with pytest.raises(Trained):
        train_speed.run_recipe(train_speed.RECIPES["default"], train_size=6)
    assert trained == [(DEFAULT_RECIPE, 6, (8, 28, 28, 1))]


def test_each_pair_divides_the_default_run_by_the_seed_epochs_around_it():
    ratios = train_speed.pair_ratios([40.0, 60.0, 50.0, 30.0], [25.0, None, 20.0])
    assert ratios == [0.5, None, 0.5]  # 25 / mean(40, 60); a miss has no ratio; 20 / mean(50, 30)
    assert train_speed.pair_ratios([40.0], [20.0]) == [0.5]  # no seed epoch after: the one before


def test_the_median_ratio_counts_a_run_that_missed_the_target_as_slowest():
    assert train_speed._median([0.7, None, 0.5]) == 0.7
    assert train_speed._median([0.7, 0.6, 0.5]) == 0.6
    assert train_speed._median([None, None, 0.5]) is None


def test_the_report_shows_every_pair_and_the_median():
    paired = {"seed_epoch_seconds": [40.0, 60.0, 50.0], "ratios": [0.5, 0.4], "cpu_ratios": [0.6, None],
              "median_ratio": 0.5, "median_cpu_ratio": 0.6,
              "runs": [{"seconds_to_target": 25.0, "epochs_to_target": 5},
                       {"seconds_to_target": 22.0, "epochs_to_target": 5}]}
    lines = train_speed.paired_markdown(paired)
    assert "| 1 | 40.0 s | 25.0 s | 5 | 60.0 s | 0.50 | 0.60 |" in lines
    assert "| 2 | 60.0 s | 22.0 s | 5 | 50.0 s | 0.40 | - |" in lines
    assert lines[-1] == "Median ratio: 0.50 seed epochs (CPU time: 0.60)."


def test_every_recipe_uses_known_settings():
    base = {"model", "optimizer", "learning_rate", "batch_size", "epochs", "precision", "backend", "note"}
    for name, recipe in train_speed.RECIPES.items():
        assert set(recipe) <= base | set(train_speed.SETTINGS), name
        assert base <= set(recipe), name
    assert set(train_speed.DEFAULT_SET) <= set(train_speed.RECIPES)


def test_speed_probes_differ_from_the_default_probe_in_one_setting():
    control = train_speed.RECIPES["probe_default"]
    for name, probe in train_speed.RECIPES.items():
        if name.startswith("probe_") and name != "probe_default":
            changed = {key for key in set(probe) | set(control)
                       if key not in ("note", "train_size") and probe.get(key) != control.get(key)}
            # Keras turns XLA off under op determinism, so the XLA probe turns both.
            expected = 2 if name == "probe_xla" else 1
            assert len(changed) == expected, (name, changed)


def test_time_to_target_counts_every_epoch_up_to_the_first_hit():
    row = train_speed.summarize("run", RUN, result([10.0, 5.0, 5.0], [0.90, 0.921, 0.93]), peak=100.0)
    assert row["seconds_to_target"] == 15.0
    assert row["epochs_to_target"] == 2
    assert row["seconds_per_epoch"] == 5.0  # the first epoch (tracing) is left out
    assert row["images_per_second"] == 12000.0
    assert row["achieved_gflops"] == pytest.approx(12.0)
    assert row["fraction_of_peak"] == pytest.approx(0.12)
    assert row["final_test_accuracy"] == 0.93


def test_a_run_below_target_has_no_time_to_target():
    row = train_speed.summarize("run", RUN, result([10.0, 5.0, 5.0], [0.90, 0.91, 0.9199]), peak=100.0)
    assert row["seconds_to_target"] is None
    assert row["epochs_to_target"] is None


def test_speed_probe_keeps_its_fastest_epoch_after_the_first_and_scales_to_60000_images():
    probe = dict(RUN, speed_only=True)
    row = train_speed.summarize("probe", probe, result([1.0, 3.0, 2.0], [], images=12000), peak=100.0)
    assert row["images_per_second"] == 6000.0
    assert row["seconds_per_epoch"] == 10.0
    assert row["final_test_accuracy"] is None
    assert row["seconds_to_target"] is None


def test_markdown_reports_ratios_against_baselines_from_the_same_run():
    rows = [
        train_speed.summarize("seed", RUN, result([20.0, 20.0], [0.6, 0.7]), 100.0),
        train_speed.summarize("default", RUN, result([6.0, 5.0], [0.9, 0.925]), 100.0),
        train_speed.summarize("probe_default", dict(RUN, speed_only=True), result([1, 2, 2], [], 12000), 100.0),
        train_speed.summarize("probe_x", dict(RUN, speed_only=True, note="faster"), result([1, 1, 1], [], 12000), 100.0),
    ]
    report = {"date": "2026-01-01", "machine": {"cpu": "CPU", "cores": 2},
              "versions": {"tensorflow": "2", "keras": "3"}, "train_size": 60000,
              "target_accuracy": 0.92, "peak_gflops": {"float32": 100.0, "bfloat16": 50.0}, "recipes": rows}
    text = train_speed.markdown(report)
    seed_line = next(line for line in text.splitlines() if line.startswith("| seed |"))
    default_line = next(line for line in text.splitlines() if line.startswith("| default |"))
    probe_line = next(line for line in text.splitlines() if line.startswith("| probe_x |"))
    assert "| 1.00x | not reached | - | 70.00% |" in seed_line
    assert "| 4.00x | 11 s | 2 | 92.50% |" in default_line
    assert "| faster | 12,000 | 5.0 | 12,000 | 2.00x |" in probe_line


@pytest.mark.slow  # a new Python process that imports TensorFlow and trains
def test_run_recipe_trains_a_tiny_probe(real_data):
    probe = dict(train_speed.RECIPES["probe_default"], epochs=2)
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--run-one", json.dumps(probe), "--train-size", "256"],
        stdout=subprocess.PIPE, text=True, check=True,
    )
    measured = json.loads(completed.stdout.strip().splitlines()[-1])
    assert measured["train_images"] == 256
    assert len(measured["epoch_seconds"]) == 2
    assert measured["test_accuracy"] == []  # probes only time training
    assert measured["train_flops_per_image"] > 0


@pytest.mark.slow  # a new Python process that imports TensorFlow and trains
def test_run_paired_interleaves_seed_epochs_and_default_runs(real_data):
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--run-paired", "2", "--train-size", "256"],
        stdout=subprocess.PIPE, text=True, check=True,
    )
    paired = json.loads(completed.stdout.strip().splitlines()[-1])
    assert len(paired["seed_epoch_seconds"]) == 3 and len(paired["runs"]) == 2
    assert paired["candidate"]["model_name"] == DEFAULT_RECIPE.model_name
    first = paired["runs"][0]
    assert len(first["epoch_seconds"]) == len(first["test_accuracy"]) <= DEFAULT_RECIPE.epochs
    # 256 images cannot reach 92%: no time to target, no ratio, and all epochs were trained
    assert first["seconds_to_target"] is None and paired["ratios"] == [None, None]
    assert len(first["epoch_seconds"]) == DEFAULT_RECIPE.epochs


def test_a_default_run_stops_after_the_first_epoch_at_the_target():
    class Model:
        stop_training = False

    stop = train_speed.StopAtTarget()
    stop.set_model(Model())
    stop.on_epoch_end(0, {"val_accuracy": 0.9199})
    assert not stop.model.stop_training
    stop.on_epoch_end(1, {"val_accuracy": 0.92})
    assert stop.model.stop_training
