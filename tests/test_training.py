"""Tests of fmnist_helpers/training.py."""

import keras
import numpy as np
import pytest

from fmnist_helpers import (build_seed_cnn, load_history, make_optimizer, make_schedule,
                            save_history, seed_everything, train_model)


def tiny_batch(seed=0, n=16):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


def test_seed_sgd_is_keras2_decay():
    schedule = make_schedule("seed_sgd", 0.001)
    assert isinstance(schedule, keras.optimizers.schedules.InverseTimeDecay)
    # Keras 2: lr / (1 + decay * iterations)
    for step in (0, 1, 1875, 37500):
        assert float(schedule(step)) == pytest.approx(0.001 / (1 + 1e-5 * step), rel=1e-6)
    optimizer = make_optimizer("seed_sgd", 0.001)
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
    [("rmsprop", 1e-3, r"unknown optimizer 'rmsprop'; expected one of seed_sgd, sgd, adam"),
     ("adam", 0.0, r"learning_rate must be positive, got 0.0")],
    ids=["unknown-name", "zero-rate"],
)
def test_make_optimizer_errors(name, rate, message):
    with pytest.raises(ValueError, match=message):
        make_optimizer(name, rate)


def fit_twice_steps(seed):
    seed_everything(seed)
    model = build_seed_cnn()
    x, y = tiny_batch()
    history = train_model(model, x, y, epochs=2, batch_size=8, optimizer=make_optimizer("adam", 1e-3),
                          log_epochs=False)
    return history.history, model.get_weights()


def test_seeded_fit_repeats_exactly():
    first_history, first_weights = fit_twice_steps(seed=1)
    second_history, second_weights = fit_twice_steps(seed=1)
    assert first_history == second_history
    for a, b in zip(first_weights, second_weights):
        np.testing.assert_array_equal(a, b)
    other_history, _ = fit_twice_steps(seed=2)
    assert other_history != first_history


def test_train_model_prints_one_line_per_epoch(capsys):
    seed_everything(0)
    x, y = tiny_batch()
    history = train_model(build_seed_cnn(), x, y, epochs=2, batch_size=8,
                          optimizer=make_optimizer("adam", 1e-3), validation_data=tiny_batch(1, 8))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2: accuracy ")
    assert "val_loss" in lines[1] and "ms/step" not in lines[1]
    assert set(history.history) == {"accuracy", "loss", "val_accuracy", "val_loss"}


def test_train_model_accepts_one_hot_labels():
    seed_everything(0)
    x, y = tiny_batch()
    history = train_model(build_seed_cnn(), x, keras.utils.to_categorical(y, 10), epochs=1, batch_size=8,
                          optimizer=make_optimizer("adam", 1e-3), log_epochs=False)
    assert history.model.loss == "categorical_crossentropy"


def test_train_model_rejects_mismatch():
    x, y = tiny_batch()
    with pytest.raises(ValueError, match=r"x_train has 16 examples but y_train has 15"):
        train_model(build_seed_cnn(), x, y[:15], epochs=1, batch_size=8,
                    optimizer=make_optimizer("adam", 1e-3))


def test_history_round_trip(tmp_path):
    path = save_history({"loss": [0.5, 0.25], "accuracy": [0.8, 0.9]}, tmp_path / "deep" / "history.json")
    table = load_history(path)
    assert table.index.tolist() == [1, 2] and table.index.name == "epoch"
    assert table["loss"].tolist() == [0.5, 0.25]


def test_load_history_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no training history at .*nothing.json; run the training chapter"):
        load_history(tmp_path / "nothing.json")
