"""Tests of benchmarks/train_speed.py: its arithmetic, its report and tiny real runs."""

import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fmnist_helpers import DEFAULT_RECIPE, HEADLINE_RECIPE, ORIGINAL_RECIPE

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_speed.py"
_spec = importlib.util.spec_from_file_location("train_speed", SCRIPT)
train_speed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_speed)

PROBE = {"model": "fast_cnn", "optimizer": "adam", "learning_rate": 2e-3, "batch_size": 128,
         "epochs": 3, "precision": "float32", "backend": "tensorflow", "note": "test"}


def probe_result(seconds, images=60000):
    return {"epoch_seconds": seconds, "train_images": images, "train_flops_per_image": 1e6,
            "backend": "tensorflow"}


def unit_record(kind, seed, seconds, accuracy=()):
    return {"kind": kind, "seed": seed, "train_images": 54000, "seconds": seconds,
            "cpu_seconds": 2 * seconds, "epoch_seconds": [seconds / 2, seconds / 2],
            "val_accuracy": list(accuracy), "train_flops_per_image": 1e6}


def test_each_pair_divides_the_default_run_by_the_original_epochs_around_it():
    assert train_speed.pair_ratios([40.0, 60.0, 50.0, 30.0], [25.0, 22.0, 20.0]) == pytest.approx(
        [0.5, 0.4, 0.5])  # 25 / mean(40, 60), 22 / mean(60, 50), 20 / mean(50, 30)
    assert train_speed.pair_ratios([40.0], [20.0]) == [0.5]  # no epoch after: the one before


def test_the_paired_measure_alternates_units_and_applies_the_mean_over_seeds_rule():
    calls = []
    seconds = {"original": iter([40.0, 60.0, 50.0]), "default": iter([25.0, 22.0])}
    accuracy = {0: [0.90, 0.925], 1: [0.90, 0.914]}

    def fake_unit(kind, seed, train_size):
        calls.append((kind, seed, train_size))
        return unit_record(kind, seed, next(seconds[kind]), accuracy[seed] if kind == "default" else ())

    paired = train_speed.run_paired([0, 1], 600, unit=fake_unit)
    assert calls == [("original", 0, 600), ("default", 0, 600), ("original", 0, 600),
                     ("default", 1, 600), ("original", 1, 600)]
    assert paired["ratios"] == pytest.approx([0.5, 0.4]) and paired["median_ratio"] == pytest.approx(0.45)
    assert paired["cpu_ratios"] == pytest.approx([0.5, 0.4])
    # seed 0 ends above 92% and seed 1 below; their mean, 91.95%, is below: not reached
    assert paired["mean_final_val_accuracy"] == pytest.approx(0.9195)
    assert paired["reaches_target"] is False
    with pytest.raises(ValueError, match=r"the paired measure needs at least one seed"):
        train_speed.run_paired([], 600, unit=fake_unit)


def test_a_unit_trains_the_books_recipes_through_train_model_on_the_seeds_split(monkeypatch):
    """The default run times exactly what chapter 5 trains, by the same function, on its split."""
    import numpy as np

    import fmnist_helpers

    images = np.zeros((200, 28, 28), dtype=np.uint8)
    labels = np.arange(200) % 10
    monkeypatch.setattr(fmnist_helpers, "load_data", lambda: ((images, labels), (images, labels)))
    trained = []

    class Trained(Exception):
        pass

    def recording_train_model(recipe, x_train, y_train, **kwargs):
        validation = kwargs.get("validation_data")
        trained.append((recipe, len(x_train), None if validation is None else len(validation[0])))
        raise Trained  # the recipe and the images are all this test needs; no training

    monkeypatch.setattr(fmnist_helpers, "train_model", recording_train_model)
    for kind in ("default", "original", "headline"):
        with pytest.raises(Trained):
            train_speed.run_unit(kind, seed=3, train_size=12)
    assert trained == [(dataclasses.replace(DEFAULT_RECIPE, seed=3), 12, 20),
                       (dataclasses.replace(ORIGINAL_RECIPE, epochs=1, seed=3), 12, None),
                       (dataclasses.replace(HEADLINE_RECIPE, seed=3), 12, 20)]
    with pytest.raises(ValueError, match=r"unknown unit 'test'; expected 'original' or one of 'default', 'headline'"):
        train_speed.run_unit("test", seed=0, train_size=12)


def test_the_report_shows_every_pair_the_medians_and_the_rule():
    paired = {"originals": [unit_record("original", 0, 40.0), unit_record("original", 0, 60.0),
                            unit_record("original", 1, 50.0)],
              "runs": [unit_record("default", 0, 25.0, [0.925]), unit_record("default", 1, 22.0, [0.914])],
              "ratios": [0.5, 0.4], "cpu_ratios": [0.6, 0.45], "median_ratio": 0.45, "median_cpu_ratio": 0.525,
              "mean_final_val_accuracy": 0.9195, "reaches_target": False}
    lines = train_speed.paired_markdown(paired)
    assert "| 0 | 40.0 s | 25.0 s | 60.0 s | 0.50 | 0.60 | 92.50% |" in lines
    assert "| 1 | 60.0 s | 22.0 s | 50.0 s | 0.40 | 0.45 | 91.40% |" in lines
    assert lines[-1] == ("Median ratio: 0.45 original-recipe epochs (CPU time: 0.53). Mean final "
                         "validation accuracy over 2 seeds: 91.95%, so the default does not reach 92%.")


def test_every_probe_uses_known_settings():
    base = {"model", "optimizer", "learning_rate", "batch_size", "epochs", "precision", "backend", "note"}
    for name, recipe in train_speed.RECIPES.items():
        assert set(recipe) <= base | set(train_speed.SETTINGS), name
        assert base <= set(recipe), name
    assert set(train_speed.DEFAULT_SET) <= set(train_speed.RECIPES)


def test_speed_probes_differ_from_the_default_probe_in_one_setting():
    control = train_speed.RECIPES["probe_default"]
    for name, probe in train_speed.RECIPES.items():
        if name != "probe_default":
            changed = {key for key in set(probe) | set(control)
                       if key not in ("note", "train_size") and probe.get(key) != control.get(key)}
            # Keras turns XLA off under op determinism, so the XLA probe turns both.
            expected = 2 if name == "probe_xla" else 1
            assert len(changed) == expected, (name, changed)


def test_speed_probe_keeps_its_fastest_epoch_after_the_first_and_scales_to_60000_images():
    row = train_speed.summarize("probe", PROBE, probe_result([1.0, 3.0, 2.0], images=12000), peak=100.0)
    assert row["images_per_second"] == 6000.0
    assert row["seconds_per_epoch"] == 10.0
    assert row["achieved_gflops"] == pytest.approx(6.0)
    assert row["fraction_of_peak"] == pytest.approx(0.06)


def test_markdown_reports_probe_ratios_against_the_default_probe_from_the_same_run():
    rows = [
        train_speed.summarize("probe_default", PROBE, probe_result([1, 2, 2], 12000), 100.0),
        train_speed.summarize("probe_x", dict(PROBE, note="faster"), probe_result([1, 1, 1], 12000), 100.0),
    ]
    report = {"date": "2026-01-01", "machine": {"cpu": "CPU", "cores": 2},
              "versions": {"tensorflow": "2", "keras": "3"}, "train_size": 60000,
              "target_accuracy": 0.92, "peak_gflops": {"float32": 100.0, "bfloat16": 50.0},
              "paired": None, "recipes": rows}
    text = train_speed.markdown(report)
    probe_line = next(line for line in text.splitlines() if line.startswith("| probe_x |"))
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
    assert measured["train_flops_per_image"] > 0


@pytest.mark.slow  # new Python processes that import TensorFlow and train
def test_a_real_default_unit_trains_its_whole_schedule_and_scores_validation(real_data):
    unit = train_speed._run_unit_process("default", 1, 256)
    assert unit["train_images"] == 256 and unit["seed"] == 1
    assert len(unit["epoch_seconds"]) == len(unit["val_accuracy"]) == DEFAULT_RECIPE.epochs
    assert unit["cpu_seconds"] > 0 and unit["process_seconds"] > unit["seconds"]
