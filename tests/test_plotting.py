"""Tests of fmnist_helpers/plotting.py: each helper draws what it says, where it is told."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fmnist_helpers import (confusion_matrix_table, make_schedule, plot_class_means,  # noqa: E402
                            plot_confusion_matrix, plot_feature_maps, plot_filters, plot_history, plot_image_grid,
                            plot_learning_rate, plot_misclassified, plot_pixel_histogram,
                            plot_probabilities)

IMAGES = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
LABELS = np.arange(20) % 10


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_image_grid_captions_with_class_names():
    axes = plot_image_grid(IMAGES, LABELS)
    assert axes.shape == (2, 5)
    assert [ax.get_title() for ax in axes.flat][:3] == ["T-shirt/top", "Trouser", "Pullover"]
    assert axes[0, 0].images[0].get_array().shape == (28, 28)


def test_image_grid_draws_into_given_axes():
    _, given = plt.subplots(1, 2)
    axes = plot_image_grid(IMAGES, titles=["a", "b"], nrows=1, ncols=2, axes=given)
    assert axes[0, 1] is given[1] and given[1].get_title() == "b"


def test_image_grid_needs_enough_images():
    with pytest.raises(ValueError, match=r"a 2x5 grid needs 10 images, got 3"):
        plot_image_grid(IMAGES[:3], LABELS[:3])


def test_class_means_are_means():
    axes = plot_class_means(IMAGES, LABELS)
    np.testing.assert_allclose(axes[0, 0].images[0].get_array(), IMAGES[[0, 10]].mean(axis=0))


def test_pixel_histogram_counts_every_pixel():
    ax = plot_pixel_histogram(IMAGES)
    assert sum(patch.get_height() for patch in ax.patches) == IMAGES.size
    assert ax.get_yscale() == "log"


def test_pixel_histogram_has_one_bar_per_value_and_names_the_share_of_zeros():
    images = np.zeros((1, 4, 4), dtype=np.uint8)
    images[0, 0, :3] = [1, 2, 255]  # 13 of 16 pixels are exactly 0
    ax = plot_pixel_histogram(images)
    assert len(ax.patches) == 256
    assert [ax.patches[value].get_height() for value in (0, 1, 2, 255)] == [13, 1, 1, 1]
    assert ax.get_title() == "How often each pixel value occurs (one bar per value)"
    assert [text.get_text() for text in ax.texts] == ["exactly 0: 81% of all pixels"]


def test_pixel_histogram_of_scaled_images_uses_bins_and_marks_nothing():
    ax = plot_pixel_histogram(IMAGES / 255)
    assert len(ax.patches) == 64 and not ax.texts
    assert ax.get_title() == "How often each pixel value occurs"


def test_history_plots_train_and_validation():
    history = {"loss": [1.0, 0.5], "accuracy": [0.6, 0.8], "val_loss": [1.1, 0.7], "val_accuracy": [0.5, 0.7]}
    loss_ax, accuracy_ax = plot_history(history)
    assert [line.get_label() for line in loss_ax.lines] == ["training", "validation"]
    np.testing.assert_array_equal(accuracy_ax.lines[1].get_ydata(), [0.5, 0.7])
    np.testing.assert_array_equal(accuracy_ax.lines[0].get_xdata(), [1, 2])


def test_confusion_heatmap_formats():
    y_true, y_pred = np.array([0, 0, 1]), np.array([0, 1, 1])
    counts = plot_confusion_matrix(confusion_matrix_table(y_true, y_pred))
    assert counts.texts[0].get_text() == "1"
    shares = plot_confusion_matrix(confusion_matrix_table(y_true, y_pred, normalize=True))
    assert shares.texts[0].get_text() == "50%"


def test_confusion_heatmap_colour_scale_ends_at_the_largest_mistake():
    y_true = np.array([0] * 90 + [1] * 80 + [1] * 7 + [0] * 3)
    y_pred = np.array([0] * 90 + [1] * 80 + [0] * 7 + [1] * 3)
    ax = plot_confusion_matrix(confusion_matrix_table(y_true, y_pred))
    norm = ax.collections[0].norm
    assert (norm.vmin, norm.vmax) == (0, 7)
    assert "largest mistake" in ax.figure.axes[-1].get_ylabel()
    shares = plot_confusion_matrix(confusion_matrix_table(y_true, y_pred, normalize=True))
    assert shares.collections[0].norm.vmax == pytest.approx(7 / 87)  # 7 of 87 images
    assert shares.figure.axes[-1].yaxis.get_major_formatter()(0.08, 0) == "8%"
    wider = plot_confusion_matrix(confusion_matrix_table(y_true, y_pred), vmax=100)
    assert wider.collections[0].norm.vmax == 100


def test_misclassified_titles():
    y_pred = LABELS.copy()
    y_pred[[3, 7]] = 6
    axes = plot_misclassified(IMAGES, LABELS, y_pred, nrows=1, ncols=2)
    assert axes[0, 0].get_title() == "Dress\n→ Shirt" and axes[0, 1].get_title() == "Sneaker\n→ Shirt"


def test_misclassified_with_one_mistake_leaves_the_other_cells_empty():
    y_pred = LABELS.copy()
    y_pred[4] = 2
    axes = plot_misclassified(IMAGES, LABELS, y_pred)
    assert axes.shape == (2, 5)
    assert axes[0, 0].get_title() == "Coat\n→ Pullover" and axes[0, 0].images
    assert [ax.axison for ax in axes.flat] == [True] + [False] * 9
    assert not any(ax.images for ax in axes.flat[1:])


def test_misclassified_without_mistakes_says_so():
    axes = plot_misclassified(IMAGES, LABELS, LABELS)
    assert not any(ax.axison or ax.images for ax in axes.flat)
    assert axes[0, 0].figure.get_suptitle() == "No misclassified images: every prediction is right"


def test_filters_share_one_symmetric_scale():
    kernel = np.zeros((3, 3, 1, 5))
    kernel[0, 0, 0, 1] = 2.0
    kernel[1, 1, 0, 3] = -0.5
    axes = plot_filters(kernel, ncols=4)
    assert axes.shape == (2, 4)
    drawn = [ax for ax in axes.flat if ax.images]
    assert [ax.get_title() for ax in drawn] == [f"filter {i}" for i in range(5)]
    np.testing.assert_array_equal(drawn[3].images[0].get_array(), kernel[:, :, 0, 3])
    assert {(ax.images[0].norm.vmin, ax.images[0].norm.vmax) for ax in drawn} == {(-2.0, 2.0)}
    assert not axes[1, 1].axison  # three cells left over
    assert axes[0, 0].figure.axes[-1].get_ylabel() == "weight"


def test_filters_need_one_input_channel():
    with pytest.raises(ValueError, match=r"got \(3, 3, 2, 4\).*kernel\[:, :, channel, :\]"):
        plot_filters(np.zeros((3, 3, 2, 4)))


def test_feature_maps_of_one_image_each_on_its_own_scale_with_white_at_zero():
    maps = np.zeros((1, 4, 4, 3))
    maps[0, 0, 0, 2] = -3.0
    maps[0, 1, 1, 1] = 0.5
    axes = plot_feature_maps(maps)
    drawn = [ax for ax in axes.flat if ax.images]
    assert [ax.get_title() for ax in drawn] == ["filter 0", "filter 1", "filter 2"]
    np.testing.assert_array_equal(drawn[2].images[0].get_array(), maps[0, :, :, 2])
    assert [(ax.images[0].norm.vmin, ax.images[0].norm.vmax) for ax in drawn] == [
        (-1.0, 1.0), (-0.5, 0.5), (-3.0, 3.0)]  # an all-zero map: white on any scale
    assert len(axes[0, 0].figure.axes) == 8  # no colour bar: the scales differ


def test_feature_maps_need_one_image():
    with pytest.raises(ValueError, match=r"got \(2, 4, 4, 3\); .* maps\[index\]"):
        plot_feature_maps(np.zeros((2, 4, 4, 3)))


def test_probability_bars_colours():
    probabilities = np.full(10, 0.02)
    probabilities[6] = 0.82
    ax = plot_probabilities(probabilities, true_label=0)
    colours = [bar.get_facecolor() for bar in ax.patches]
    assert colours[6] == matplotlib.colors.to_rgba("tab:blue")
    assert colours[0] == matplotlib.colors.to_rgba("tab:red")
    assert colours[1] == matplotlib.colors.to_rgba("lightgray")
    assert ax.get_legend() is None


def test_probability_labels_only_the_bars_that_matter_and_are_readable():
    probabilities = np.full(10, 0.001)
    probabilities[[6, 2]] = [0.9, 0.091]  # predicted Shirt, Pullover second; true class 0
    ax = plot_probabilities(probabilities, true_label=0)
    labels = [text.get_text() for text in ax.texts]
    assert labels == ["0.1%", "", "9%", "", "", "", "90%", "", "", ""]
    assert min(text.get_fontsize() for text in ax.texts) >= 8


@pytest.mark.parametrize(("predicted", "true", "labels"), [
    pytest.param(0.99995, 0.00005, (">99.9%", "<0.1%"), id="beyond-one-decimal"),
    pytest.param(0.996, 0.004, ("99.6%", "0.4%"), id="one-decimal-near-the-ends"),
    pytest.param(0.994, 0.006, ("99%", "1%"), id="whole-percent"),
    pytest.param(1.0, 0.0, ("100%", "0%"), id="exactly-1-and-0"),
])
def test_probability_labels_never_round_to_0_or_100_percent(predicted, true, labels):
    probabilities = np.zeros(10)
    probabilities[[9, 7]] = [predicted, true]  # predicted Ankle boot; true class Sneaker
    ax = plot_probabilities(probabilities, true_label=7)
    texts = [text.get_text() for text in ax.texts]
    assert (texts[9], texts[7]) == labels


@pytest.mark.parametrize(("true_label", "entries"), [
    pytest.param(0, ["predicted class", "true class"], id="wrong"),
    pytest.param(6, ["predicted class"], id="right"),
])
def test_probability_bars_legend_names_the_colours_shown(true_label, entries):
    probabilities = np.full(10, 0.02)
    probabilities[6] = 0.82
    ax = plot_probabilities(probabilities, true_label=true_label, legend=True)
    assert [text.get_text() for text in ax.get_legend().get_texts()] == entries


def test_learning_rate_curve():
    ax = plot_learning_rate(make_schedule("original_sgd", 0.001), total_steps=1000)
    assert ax.lines[0].get_ydata()[0] == pytest.approx(0.001)
    flat = plot_learning_rate(0.01, total_steps=10)
    assert set(flat.lines[0].get_ydata()) == {0.01}


def test_plot_differences_draws_each_seeds_paired_difference_and_the_interval():
    import pandas as pd

    from fmnist_helpers import plot_differences
    from fmnist_helpers.experiments import Comparison, compare_all

    table = pd.DataFrame({"run": ["default recipe"] * 3 + ["10 epochs"] * 3, "seed": [0, 1, 2] * 2,
                          "validation accuracy": [0.90, 0.92, 0.91, 0.92, 0.93, 0.93]})
    differences = compare_all(table, [Comparison("epochs", "default recipe", ("10 epochs",))])
    ax = plot_differences(differences, table)
    dots, = [line for line in ax.lines if line.get_marker() == "o"]
    assert sorted(dots.get_xdata()) == pytest.approx([1.0, 2.0, 2.0])  # points, seed by seed
    (low, high), = [segment[:, 0] for collection in ax.collections
                    for segment in collection.get_segments()]
    assert (low, high) == pytest.approx((100 * differences["low"].iloc[0], 100 * differences["high"].iloc[0]))
    assert [label.get_text() for label in ax.get_yticklabels()] == ["10 epochs\n(vs default recipe)"]


def test_plot_differences_draws_a_difference_that_fails_holm_hollow():
    import pandas as pd

    from fmnist_helpers import plot_differences

    differences = pd.DataFrame(
        {"base": ["a", "a"], "difference": [0.01, 0.02], "low": [0.005, 0.01], "high": [0.015, 0.03],
         "verdict": ["higher", "higher"], "holds after Holm": [True, False]}, index=["b", "c"])
    table = pd.DataFrame({"run": ["a", "b", "c"] * 2, "seed": [0, 0, 0, 1, 1, 1],
                          "validation accuracy": [0.90, 0.91, 0.92, 0.90, 0.91, 0.92]})
    ax = plot_differences(differences, table)
    faces = [line.get_markerfacecolor() for line in ax.lines if line.get_marker() == "D"]
    assert faces == ["tab:blue", "white"]
    assert "mean, 95% interval above 0, not after Holm's correction" in [
        text.get_text() for text in ax.get_legend().get_texts()]
