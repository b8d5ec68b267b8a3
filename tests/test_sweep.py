"""Tests of fmnist_helpers/sweep.py (the sweep itself is long; its parts are tested here)."""

import json

import numpy as np
import pytest

from fmnist_helpers import DEFAULT_RECIPE, HEADLINE_RECIPE
from fmnist_helpers.sweep import SWEEP, collect_run, run_classical_baseline


def test_sweep_covers_the_required_recipes():
    assert SWEEP["seed recipe"].optimizer_name == "seed_sgd"
    assert SWEEP["seed recipe"].batch_size == 32
    assert SWEEP["seed CNN + Adam"].model_name == "seed_cnn"
    assert SWEEP["MLP baseline"].model_name == "mlp"
    assert SWEEP["default recipe"] == DEFAULT_RECIPE
    assert SWEEP["headline model"] == HEADLINE_RECIPE
    grid = {(run.optimizer_name, run.learning_rate) for name, run in SWEEP.items() if "3 epochs" in name}
    assert grid == {("adam", 1e-3), ("adam", 1e-2), ("sgd", 1e-3), ("sgd", 1e-2)}


def test_collect_run_reads_metrics_and_papermill_duration(tmp_path):
    notebook = {"cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"], "papermill": {"duration": 0.1}}},
        {"cell_type": "code", "metadata": {"tags": ["training"], "papermill": {"duration": 42.5}}},
    ]}  # fmt: skip
    (tmp_path / "run.ipynb").write_text(json.dumps(notebook))
    (tmp_path / "metrics.json").write_text(
        json.dumps({"test_accuracy": 0.9, "test_loss": 0.3, "val_accuracy": 0.91}))
    row = collect_run("default recipe", SWEEP["default recipe"], tmp_path / "run.ipynb", tmp_path)
    assert row["training seconds"] == 42.5 and row["test accuracy"] == 0.9
    assert row["validation accuracy"] == 0.91
    assert row["epochs"] == SWEEP["default recipe"].epochs


def test_classical_baseline_learns_something(real_data):
    row = run_classical_baseline(train_size=500, max_iter=5)
    assert row["run"] == "logistic regression (scikit-learn)"
    assert 0.5 < row["test accuracy"] < 1.0 and 0.5 < row["validation accuracy"] < 1.0  # chance is 0.1
    assert row["epochs"] == 5 and not row["converged"]  # 5 iterations are not enough
    assert not np.isnan(row["training seconds"])


def test_score_with_flips_reports_both_accuracies_and_times(real_data, tmp_path):
    from fmnist_helpers import build_mlp
    from fmnist_helpers.sweep import score_with_flips

    model = build_mlp()
    model.save(tmp_path / "model.keras")
    scores = score_with_flips(tmp_path / "model.keras")
    assert set(scores) == {"test accuracy, flip TTA", "predict seconds", "predict seconds, flip TTA"}
    assert 0.0 <= scores["test accuracy, flip TTA"] <= 1.0
    assert scores["predict seconds"] > 0 and scores["predict seconds, flip TTA"] > 0
