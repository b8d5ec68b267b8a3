"""Tests of fmnist_helpers/preprocessing.py."""

import keras
import numpy as np
import pytest

from fmnist_helpers import add_channel_axis, one_hot, preprocess_images, scale_pixels, split_validation


def test_add_channel_axis():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    assert add_channel_axis(images).shape == (3, 28, 28, 1)


def test_add_channel_axis_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"shape \(n, height, width\), got an array of shape \(28, 28\)"):
        add_channel_axis(np.zeros((28, 28), dtype=np.uint8))


def test_scale_pixels_range_and_dtype():
    images = np.array([[0, 51, 255]], dtype=np.uint8)
    scaled = scale_pixels(images)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, [[0.0, 0.2, 1.0]])


def test_scale_pixels_refuses_scaling_twice():
    with pytest.raises(TypeError, match=r"expected uint8 pixels in \[0, 255\], got dtype float32"):
        scale_pixels(np.zeros((1, 28, 28), dtype=np.float32))


def test_preprocess_images():
    images = np.full((2, 28, 28), 255, dtype=np.uint8)
    ready = preprocess_images(images)
    assert ready.shape == (2, 28, 28, 1) and ready.dtype == np.float32 and ready.max() == 1.0


def test_one_hot_matches_keras():
    labels = np.array([9, 0, 0, 3])
    np.testing.assert_array_equal(one_hot(labels), keras.utils.to_categorical(labels, 10))
    assert one_hot(labels).dtype == np.float32


def test_one_hot_rejects_out_of_range():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\), got values from 0 to 10"):
        one_hot(np.array([0, 10]))


def test_split_validation_is_seeded_and_stratified():
    x = np.arange(200).reshape(200, 1)
    y = np.repeat(np.arange(10), 20)
    (x_fit, y_fit), (x_val, y_val) = split_validation(x, y, validation_size=0.1, seed=0)
    assert len(x_val) == 20 and len(x_fit) == 180
    assert np.bincount(y_val).tolist() == [2] * 10
    assert sorted(np.concatenate([x_fit, x_val]).ravel().tolist()) == list(range(200))
    (_, _), (x_val_again, _) = split_validation(x, y, validation_size=0.1, seed=0)
    (_, _), (x_val_other, _) = split_validation(x, y, validation_size=0.1, seed=1)
    np.testing.assert_array_equal(x_val, x_val_again)
    assert not np.array_equal(x_val, x_val_other)


def test_split_validation_rejects_mismatch():
    with pytest.raises(ValueError, match=r"x has 3 examples but y has 2"):
        split_validation(np.zeros(3), np.zeros(2))
