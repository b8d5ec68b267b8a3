"""Two layers Keras lacks: batch normalization in one fused TensorFlow op, and a random shift."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = ["FusedBatchNormalization", "RandomShift"]


@keras.saving.register_keras_serializable(package="fmnist_helpers")
class FusedBatchNormalization(keras.layers.Layer):
    """Batch normalization over the last axis, computed by TensorFlow's fused kernel.

    The same maths as ``keras.layers.BatchNormalization(momentum=..., epsilon=...)`` on
    channels-last images: while training, each channel is normalized with its batch mean
    and variance, then scaled by ``gamma`` and shifted by ``beta``, and running averages of
    the mean and variance are kept for prediction. Keras computes the moments and the
    normalization as several operations; with the TensorFlow backend this layer calls
    ``tf.nn.fused_batch_norm``, one kernel forward and one backward, which trains the book's
    fast CNN faster on a CPU (the speed appendix measures how much). Other backends get
    the same maths from ``keras.ops``.

    One difference from Keras: TensorFlow's kernel returns the batch variance with
    Bessel's correction (divided by n - 1, not n) for the running average. With the
    thousands of values per channel of a batch, the two differ by under 0.1%. Under a
    mixed-precision policy the normalization runs in float32, as Keras' layer does, and
    returns the policy's compute dtype.

    Parameters
    ----------
    momentum
        Weight of the old value in each running-average update.
    epsilon
        Added to the variance before its square root, as in Keras.
    scale
        Train a per-channel scale ``gamma``; without it the scale is 1.
    **kwargs
        Passed to ``keras.layers.Layer`` (``name``, ``dtype``).
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, scale: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.scale = bool(scale)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = (input_shape[-1],)
        # autocast=False: the weights stay float32 under mixed precision, as in Keras' layer.
        self.gamma = self.add_weight(shape=channels, initializer="ones", trainable=self.scale,
                                     name="gamma", autocast=False)
        self.beta = self.add_weight(shape=channels, initializer="zeros", name="beta", autocast=False)
        self.moving_mean = self.add_weight(shape=channels, initializer="zeros", trainable=False,
                                           name="moving_mean", autocast=False)
        self.moving_variance = self.add_weight(shape=channels, initializer="ones", trainable=False,
                                               name="moving_variance", autocast=False)

    def call(self, inputs: Any, training: bool | None = False) -> Any:
        if inputs.dtype != "float32":  # mixed precision: normalize in float32
            return ops.cast(self.call(ops.cast(inputs, "float32"), training), inputs.dtype)
        if keras.backend.backend() != "tensorflow" or len(inputs.shape) != 4:
            return self._call_keras_ops(inputs, training)
        import tensorflow as tf

        if not training:
            return tf.compat.v1.nn.fused_batch_norm(
                inputs, self.gamma, self.beta, mean=self.moving_mean,
                variance=self.moving_variance, epsilon=self.epsilon, is_training=False)[0]
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, epsilon=self.epsilon, is_training=True)[:3]
        self._update_moving(mean, variance)
        return outputs

    def _call_keras_ops(self, inputs: Any, training: bool | None) -> Any:
        """The same maths with ``keras.ops``, for other backends and shapes."""
        axes = list(range(len(inputs.shape) - 1))
        if training:
            mean, variance = ops.moments(inputs, axes)
            count = ops.cast(ops.prod(ops.shape(inputs)[:-1]), variance.dtype)
            self._update_moving(mean, variance * count / ops.maximum(count - 1, 1))
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return ops.batch_normalization(inputs, mean, variance, axis=-1, offset=self.beta,
                                       scale=self.gamma, epsilon=self.epsilon)

    def _update_moving(self, mean: Any, variance: Any) -> None:
        self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * mean)
        self.moving_variance.assign(
            self.momentum * self.moving_variance + (1 - self.momentum) * variance)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "scale": self.scale}


@keras.saving.register_keras_serializable(package="fmnist_helpers")
class RandomShift(keras.layers.Layer):
    """Shift each training image by up to ``pixels`` in each direction, as pad and crop.

    Pads the batch with ``pixels`` of zeros on every side, then cuts each image's own
    ``28x28`` window at a random offset: a translation by -``pixels`` to +``pixels`` rows
    and columns, with zeros (the background) coming in at the edge. Like Keras' random
    preprocessing layers it acts only while training; ``predict`` sees the image as it is.
    It costs two gathers per batch, far less than ``keras.layers.RandomTranslation``'s
    interpolation.

    Parameters
    ----------
    pixels
        The largest shift, in pixels.
    seed
        Seeds the shifts (``keras.random.SeedGenerator``).
    **kwargs
        Passed to ``keras.layers.Layer``.
    """

    def __init__(self, pixels: int = 2, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if pixels < 0:
            raise ValueError(f"pixels must be at least 0, got {pixels}")
        self.pixels = int(pixels)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool | None = False) -> Any:
        if not training or not self.pixels:
            return inputs
        pad, (rows, cols) = self.pixels, inputs.shape[1:3]
        padded = ops.pad(inputs, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
        offsets = keras.random.randint((ops.shape(inputs)[0], 2), 0, 2 * pad + 1,
                                       seed=self.seed_generator)
        row_index = offsets[:, :1] + ops.arange(rows)[None]  # (batch, rows)
        col_index = offsets[:, 1:] + ops.arange(cols)[None]  # (batch, cols)
        shifted = ops.take_along_axis(padded, row_index[:, :, None, None], axis=1)
        return ops.take_along_axis(shifted, col_index[:, None, :, None], axis=2)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pixels": self.pixels, "seed": self.seed}
