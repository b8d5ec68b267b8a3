"""Tests of fmnist_helpers/models.py."""

import keras
import numpy as np
import pytest

from fmnist_helpers import (MODELS, build_fast_cnn, build_wide_cnn_flips, build_mlp, build_model,
                            build_original_cnn, explain_params, print_summary)


def test_original_cnn_matches_the_post():
    model = build_original_cnn()
    assert model.count_params() == 899_914  # (3*3*1+1)*128 + (3*3*128+1)*64 + (1600+1)*512 + (512+1)*10
    assert [layer.name for layer in model.layers] == [
        "conv1", "pool1", "dropout1", "conv2", "pool2", "dropout2",
        "flatten", "dense", "dropout3", "probabilities",
    ]  # fmt: skip
    conv1, conv2 = model.get_layer("conv1"), model.get_layer("conv2")
    assert (conv1.filters, conv1.kernel_size, conv2.filters) == (128, (3, 3), 64)
    assert [model.get_layer(f"dropout{i}").rate for i in (1, 2, 3)] == [0.3, 0.3, 0.25]
    assert model.get_layer("dense").units == 512
    assert model.input_shape == (None, 28, 28, 1)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_output_is_a_probability_per_class(name):
    model = build_model(name)
    probabilities = np.asarray(model(np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_mlp_params():
    assert build_mlp().count_params() == (784 + 1) * 128 + (128 + 1) * 10


def test_fast_cnn_params():
    conv1, conv2 = 3 * 3 * 1 * 16, 3 * 3 * 16 * 32  # no biases: batch norm's offset replaces them
    batch_norm = 4 * 16 + 4 * 32
    dense, probabilities = (7 * 7 * 32 + 1) * 128, (128 + 1) * 10
    assert build_fast_cnn().count_params() == conv1 + conv2 + batch_norm + dense + probabilities == 207_066


def test_fast_cnn_normalizes_after_pooling():
    names = [layer.name for layer in build_fast_cnn().layers]
    assert names[:4] == ["conv1", "pool1", "batchnorm1", "relu1"]
    assert build_fast_cnn().get_layer("batchnorm1").momentum == 0.9
    plain = build_fast_cnn(batch_norm=False)
    assert "batchnorm1" not in [layer.name for layer in plain.layers]
    assert plain.get_layer("conv1").use_bias
    assert build_model("fast_cnn_plain").count_params() == 206_922


def test_wide_cnn_flips_augments_only_while_training():
    model = build_wide_cnn_flips()
    assert model.layers[0].name == "flip" and model.layers[1].name == "conv1"
    assert [model.get_layer(f"conv{i}").filters for i in (1, 2)] == [32, 64]
    assert model.get_layer("dense").units == 256
    images = np.random.default_rng(0).random((16, 28, 28, 1), dtype=np.float32)
    flip = model.get_layer("flip")
    np.testing.assert_array_equal(np.asarray(flip(images, training=False)), images)  # predicting: as is
    flipped = np.asarray(flip(images, training=True))
    mirrored = [np.array_equal(one, image[:, ::-1]) for one, image in zip(flipped, images)]
    kept = [np.array_equal(one, image) for one, image in zip(flipped, images)]
    assert all(m or k for m, k in zip(mirrored, kept))  # each image left-right mirrored, or kept
    assert any(mirrored) and any(kept)  # training: some mirrored, some kept (the layer is seeded)
    np.testing.assert_array_equal(model.predict(images, verbose=0), model.predict(images, verbose=0))
    with pytest.raises(ValueError, match=r"filters must name at least one convolution block"):
        build_fast_cnn(filters=())


def test_fast_cnn_dropout_option():
    rates = {layer.name: layer.rate for layer in build_fast_cnn(dropout=(0.0, 0.25)).layers
             if isinstance(layer, keras.layers.Dropout)}
    assert rates == {"dropout2": 0.25}  # a rate of 0 leaves the layer out
    assert build_fast_cnn(dropout=(0.5, 0.0)).count_params() == build_fast_cnn().count_params()
    with pytest.raises(ValueError, match=r"dropout rates must be in \[0, 1\), got \(1.0, 0.2\)"):
        build_fast_cnn(dropout=(1.0, 0.2))


def test_build_model_unknown_name():
    with pytest.raises(ValueError, match=r"unknown model 'resnet'; expected one of original_cnn, fast_cnn"):
        build_model("resnet")


def test_explain_params_formulas_add_up():
    table = explain_params(build_original_cnn())
    assert table.loc["conv1", "formula"] == "(3x3x1 + 1) x 128"
    assert table.loc["dense", "formula"] == "(1600 + 1) x 512"
    assert table.loc["total", "parameters"] == table["parameters"].drop("total").sum() == 899_914


def test_print_summary_is_plain_text(capsys):
    print_summary(build_mlp())
    out = capsys.readouterr().out
    assert 'Model: "mlp"' in out and "101,770" in out and "\x1b[" not in out
