"""Tests of fmnist_helpers/training.py."""

import io
import re

import keras
import numpy as np
import pytest

import dataclasses

from fmnist_helpers import (DEFAULT_RECIPE, EpochLogger, build_model, check_follows_recipe, load_history,
                            load_or_train_model, make_optimizer, make_schedule, save_history,
                            seed_everything, train_model)

TINY = dataclasses.replace(DEFAULT_RECIPE, model_name="mlp", batch_size=8, epochs=2)


def tiny_batch(seed=0, n=16):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


def test_original_sgd_is_keras2_decay():
    schedule = make_schedule("original_sgd", 0.001)
    assert isinstance(schedule, keras.optimizers.schedules.InverseTimeDecay)
    # Keras 2: lr / (1 + decay * iterations)
    for step in (0, 1, 1875, 37500):
        assert float(schedule(step)) == pytest.approx(0.001 / (1 + 1e-5 * step), rel=1e-6)
    optimizer = make_optimizer("original_sgd", 0.001)
    assert isinstance(optimizer, keras.optimizers.SGD) and optimizer.momentum == 0


def test_warmup_cosine_schedule():
    schedule = make_schedule("adam", 1e-3, total_steps=100)
    assert float(schedule(0)) == 0.0
    assert float(schedule(10)) == pytest.approx(1e-3)
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-9)
    assert make_schedule("adam", 1e-3) == 1e-3


def test_optimizer_kinds():
    assert isinstance(make_optimizer("adam", 1e-3), keras.optimizers.Adam)
    sgd = make_optimizer("sgd", 1e-2, total_steps=10)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.nesterov


@pytest.mark.parametrize(
    ("name", "rate", "message"),
    [("rmsprop", 1e-3, r"unknown optimizer 'rmsprop'; expected one of original_sgd, original_momentum, original_adam, sgd, adam"),
     ("adam", 0.0, r"learning_rate must be positive, got 0.0")],
    ids=["unknown-name", "zero-rate"],
)
def test_make_optimizer_errors(name, rate, message):
    with pytest.raises(ValueError, match=message):
        make_optimizer(name, rate)


def fit(recipe, **kwargs):
    x, y = tiny_batch()
    return train_model(recipe, x, y, log_epochs=False, **kwargs)


def test_seeded_fit_repeats_exactly():
    first, second = fit(dataclasses.replace(TINY, seed=1)), fit(dataclasses.replace(TINY, seed=1))
    assert first.history == second.history
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert fit(dataclasses.replace(TINY, seed=2)).history != first.history


def test_train_model_follows_the_recipe():
    history = fit(TINY)
    assert history.model.name == "mlp"
    assert history.params["epochs"] == 2 and history.params["steps"] == 2  # 16 images, batches of 8
    assert history.model.loss == "sparse_categorical_crossentropy"
    check_follows_recipe(history, TINY, train_size=16)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"learning_rate": 0.5}, r"its optimizer is \{'learning_rate warmup_target': 0.01\}, expected \{'learning_rate warmup_target': 0.5\}"),
     ({"epochs": 3}, r"its epochs is 2, expected 3"),
     ({"batch_size": 4}, r"its steps per epoch is 2, expected 4"),
     ({"model_name": "fast_cnn"}, r"its model \(get_config\(\)\) is .*'name': 'mlp'")],
    ids=["learning-rate", "epochs", "batch-size", "model"],
)
def test_check_follows_recipe_names_what_differs(change, message):
    history = fit(TINY)
    with pytest.raises(ValueError, match=message):
        check_follows_recipe(history, dataclasses.replace(TINY, **change), train_size=16)


def test_check_follows_recipe_notices_another_loss():
    x, y = tiny_batch()
    model = build_model("mlp")
    model.compile(optimizer=make_optimizer("adam", TINY.learning_rate, total_steps=4),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, keras.utils.to_categorical(y, 10), batch_size=8, epochs=2, verbose=0)
    with pytest.raises(ValueError, match=r"its loss is 'categorical_crossentropy', expected 'sparse"):
        check_follows_recipe(history, TINY, train_size=16)


def test_train_model_prints_one_line_per_epoch_with_seconds(capsys):
    x, y = tiny_batch()
    history = train_model(TINY, x, y, validation_data=tiny_batch(1, 8))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert re.match(r"Epoch 1/2 \(\d+\.\d s\): accuracy ", lines[0])
    assert "val_loss" in lines[1] and "ms/step" not in lines[1]
    assert set(history.history) == {"accuracy", "loss", "val_accuracy", "val_loss"}


def test_epoch_logger_records_wall_and_cpu_seconds_of_training_only(monkeypatch):
    from fmnist_helpers.training import time as clock

    ticks = iter(range(100))  # each reading of either clock advances it by one second
    monkeypatch.setattr(clock, "perf_counter", lambda: float(next(ticks)))
    monkeypatch.setattr(clock, "process_time", lambda: 10.0 * next(ticks))
    logger = EpochLogger(file=io.StringIO())
    logger.set_params({"epochs": 2})
    logger.on_train_begin()
    for epoch in range(2):
        logger.on_epoch_begin(epoch)
        logger.on_test_begin()  # the clocks stop when validation scoring begins
        logger.on_epoch_end(epoch, {"loss": 0.5})
    # wall: read at 0 and 2, then 4 and 6; CPU: read at 1 and 3, then 5 and 7 (times 10)
    assert logger.seconds == [2.0, 2.0] and logger.cpu_seconds == [20.0, 20.0]


@pytest.mark.parametrize(
    ("labels", "message"),
    [(np.arange(15) % 10, r"x_train has 16 examples but y_train has 15"),
     (np.eye(10)[np.arange(16) % 10], r"expected integer class labels of shape \(16,\), got shape \(16, 10\)")],
    ids=["length", "one-hot"],
)
def test_train_model_rejects_bad_labels(labels, message):
    x, _ = tiny_batch()
    with pytest.raises(ValueError, match=message):
        train_model(TINY, x, labels)


def test_load_or_train_model_loads_a_saved_model(tmp_path, capsys):
    history = fit(TINY)
    history.model.save(tmp_path / "model.keras")
    model = load_or_train_model(tmp_path / "model.keras", dataclasses.replace(TINY, seed=5))
    assert capsys.readouterr().out == ""  # loaded, not trained again with the other seed
    x, _ = tiny_batch(1)
    np.testing.assert_allclose(model.predict(x, verbose=0), history.model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.slow  # loads and splits the full data set, then trains
def test_load_or_train_model_trains_and_saves_when_missing(tmp_path, capsys, real_data):
    path = tmp_path / "deep" / "model.keras"
    model = load_or_train_model(path, dataclasses.replace(TINY, epochs=1, batch_size=64), train_size=256)
    out = capsys.readouterr().out
    assert out.startswith(f"No trained model at {path}: training chapter 5's recipe now")
    assert "Epoch 1/1" in out and model.name == "mlp"
    x, _ = tiny_batch(1)  # what it saved is what it returned
    np.testing.assert_allclose(keras.saving.load_model(path).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


def test_history_round_trip(tmp_path):
    path = save_history({"loss": [0.5, 0.25], "accuracy": [0.8, 0.9]}, tmp_path / "deep" / "history.json")
    table = load_history(path)
    assert table.index.tolist() == [1, 2] and table.index.name == "epoch"
    assert table["loss"].tolist() == [0.5, 0.25]


def test_load_history_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no training history at .*nothing.json; run the training chapter"):
        load_history(tmp_path / "nothing.json")
