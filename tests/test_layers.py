"""FusedBatchNormalization against Keras' BatchNormalization, and RandomShift."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from fmnist_helpers import FusedBatchNormalization, RandomShift, build_fast_cnn


@pytest.fixture
def batch() -> np.ndarray:
    return np.random.default_rng(0).normal(2.0, 3.0, (32, 7, 7, 8)).astype("float32")


def test_fused_batch_norm_trains_as_keras_does(batch: np.ndarray) -> None:
    fused = FusedBatchNormalization(momentum=0.9)
    reference = keras.layers.BatchNormalization(momentum=0.9)
    np.testing.assert_allclose(fused(batch, training=True), reference(batch, training=True), atol=1e-5)
    np.testing.assert_allclose(fused.moving_mean.numpy(), reference.moving_mean.numpy(), atol=1e-6)
    # TensorFlow's kernel keeps the Bessel-corrected variance: n / (n - 1) times Keras'.
    count = 32 * 7 * 7
    batch_variance = batch.var(axis=(0, 1, 2))
    np.testing.assert_allclose(fused.moving_variance.numpy(),
                               0.9 + 0.1 * batch_variance * count / (count - 1), rtol=1e-5)
    np.testing.assert_allclose(reference.moving_variance.numpy(), 0.9 + 0.1 * batch_variance, rtol=1e-5)


def test_fused_batch_norm_predicts_with_its_running_statistics(batch: np.ndarray) -> None:
    fused = FusedBatchNormalization(momentum=0.9)
    reference = keras.layers.BatchNormalization(momentum=0.9)
    fused(batch), reference(batch)  # build both
    for layer in (fused, reference):
        layer.moving_mean.assign(np.full(8, 1.5, "float32"))
        layer.moving_variance.assign(np.full(8, 4.0, "float32"))
        layer.gamma.assign(np.linspace(0.5, 2, 8).astype("float32"))
        layer.beta.assign(np.linspace(-1, 1, 8).astype("float32"))
    np.testing.assert_allclose(fused(batch), reference(batch), atol=1e-5)
    by_hand = (batch - 1.5) / np.sqrt(4.0 + 1e-3) * np.linspace(0.5, 2, 8) + np.linspace(-1, 1, 8)
    np.testing.assert_allclose(fused(batch), by_hand, atol=1e-5)


def test_fused_batch_norm_gradients_match_keras(batch: np.ndarray) -> None:
    import tensorflow as tf

    gradients = []
    for layer in (FusedBatchNormalization(), keras.layers.BatchNormalization()):
        inputs = tf.constant(batch)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(layer(inputs, training=True) ** 3)
        gradients.append(tape.gradient(loss, [inputs, layer.gamma, layer.beta]))
    for fused, reference in zip(*gradients):
        np.testing.assert_allclose(fused, reference, rtol=1e-3, atol=1e-3)


def test_fused_batch_norm_trains_under_mixed_precision() -> None:
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_fast_cnn()
        model.compile("adam", "sparse_categorical_crossentropy")
        images = np.random.default_rng(1).random((64, 28, 28, 1)).astype("float32")
        model.fit(images, np.arange(64) % 10, epochs=1, verbose=0)
        layer = model.get_layer("batchnorm1")
        assert layer.gamma.dtype == "float32"
        assert layer(np.ones((2, 14, 14, 16), "float32")).dtype == "bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_fused_batch_norm_without_scale_does_not_train_it(batch: np.ndarray) -> None:
    layer = FusedBatchNormalization(scale=False)
    layer(batch)
    assert [weight.name for weight in layer.trainable_weights] == ["beta"]


def test_a_model_with_both_layers_saves_and_loads(tmp_path, batch: np.ndarray) -> None:
    model = build_fast_cnn(shift=2)
    model.compile("adam", "sparse_categorical_crossentropy")
    images = np.random.default_rng(1).random((64, 28, 28, 1)).astype("float32")
    model.fit(images, np.arange(64) % 10, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    def same_types(config: dict) -> dict:  # a saved config has lists where tuples were
        return json.loads(json.dumps(config))

    assert same_types(loaded.get_config()) == same_types(model.get_config())
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))


def test_random_shift_moves_each_image_within_its_range() -> None:
    images = np.zeros((200, 28, 28, 1), "float32")
    images[:, 10, 12] = 1.0
    shifted = np.asarray(RandomShift(2, seed=0)(images, training=True))
    rows, cols = np.nonzero(shifted[..., 0])[1:]
    assert len(rows) == 200  # one pixel per image, none lost
    assert set(rows - 10) == set(cols - 12) == {-2, -1, 0, 1, 2}  # every shift happens


def test_random_shift_fills_with_zeros_and_leaves_prediction_alone() -> None:
    images = np.ones((8, 28, 28, 1), "float32")
    layer = RandomShift(2, seed=0)
    np.testing.assert_array_equal(layer(images), images)  # not training: unchanged
    shifted = np.asarray(layer(images, training=True))
    assert shifted.min() == 0.0 and shifted.max() == 1.0
    assert all((image == 0).sum() <= 2 * 28 * 2 + 2 * 28 * 2 for image in shifted)


def test_random_shift_rejects_a_negative_range() -> None:
    with pytest.raises(ValueError, match="at least 0"):
        RandomShift(-1)
