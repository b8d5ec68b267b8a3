"""benchmarks/methods.py: the paired summary of each method against the default."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "methods.py"
_spec = importlib.util.spec_from_file_location("methods", SCRIPT)
methods = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(methods)


def run(name: str, seed: int, accuracy: float, seconds: float) -> dict:
    return {"run": name, "seed": seed, "validation accuracy": accuracy, "seconds": seconds,
            "cpu seconds": 2 * seconds}


def test_each_method_gets_its_paired_interval_verdict_and_median_time_ratio():
    runs = [run("default recipe", 0, 0.920, 20.0), run("4 epochs", 0, 0.915, 16.0),
            run("default recipe", 1, 0.925, 25.0), run("4 epochs", 1, 0.918, 20.0),
            run("default recipe", 2, 0.922, 30.0), run("4 epochs", 2, 0.916, 27.0)]
    (row,) = methods.summarize(runs, ["default recipe", "4 epochs"])
    assert row["variant"] == "4 epochs" and row["change"] == "epochs: 5 -> 4"
    assert row["difference"] == pytest.approx(-0.006)  # -0.005, -0.007, -0.006
    assert row["verdict"] == "lower"
    assert row["Holm p value"] == pytest.approx(row["p value"])  # one method: nothing to adjust
    assert row["time ratio"] == pytest.approx(0.8)  # median of 0.8, 0.8, 0.9
    assert row["CPU-time ratio"] == pytest.approx(0.8)


def test_every_method_changes_one_thing_of_the_default():
    from fmnist_helpers.experiments import METHODS, Comparison

    variants = tuple(name for name in METHODS if name != "default recipe")
    Comparison("methods", "default recipe", variants, recipes=METHODS)  # raises otherwise


def test_the_report_has_a_row_per_method():
    report = {"date": "2026-12-06", "seeds": [0, 1], "methods": [{
        "variant": "4 epochs", "change": "epochs: 5 -> 4", "base mean": 0.92, "variant mean": 0.915,
        "difference": -0.005, "margin": 0.002, "Holm p value": 0.01, "verdict": "lower",
        "time ratio": 0.8, "CPU-time ratio": 0.79}]}
    text = methods.markdown(report)
    assert "| 4 epochs | epochs: 5 -> 4 | 92.00% | 91.50% | -0.50 ± 0.20 | 0.010 | lower | 0.80 | 0.79 |" in text
