"""Verified Fashion-MNIST loading, models, training, evaluation and plots for the book."""

from ._quiet import import_backend_quietly

import_backend_quietly()

# The imports below load Keras, so they come after the quiet backend import.

from .data import (
    CLASS_NAMES,
    DEBIAN_DATA_DIR,
    FILES,
    DatasetError,
    find_data_dir,
    keras_cache_dir,
    load_data,
)
from .evaluation import (
    classification_report_table,
    confusion_matrix_table,
    load_trained_model,
    most_confused_pairs,
    predict_image,
    predict_with_flips,
    predictions_table,
    top_predictions,
)
from .inference import (DEFAULT_MODEL_PATH, HEADLINE_MODEL_NAME, best_model_path, load_image,
                        make_example_image, make_example_photo, predict_file, prepare_photo, save_image)
from .models import (
    INPUT_SHAPE,
    MODELS,
    build_fast_cnn,
    build_headline_cnn,
    build_mlp,
    build_model,
    build_seed_cnn,
    explain_params,
    print_summary,
)
from .plotting import (
    plot_class_means,
    plot_confusion_matrix,
    plot_differences,
    plot_history,
    plot_image_grid,
    plot_learning_rate,
    plot_misclassified,
    plot_pixel_histogram,
    plot_probabilities,
)
from .recipes import DEFAULT_RECIPE, HEADLINE_RECIPE, SEED_RECIPE, Recipe
from .preprocessing import add_channel_axis, one_hot, preprocess_images, scale_pixels, split_validation
from .training import (
    OPTIMIZERS,
    EpochLogger,
    check_follows_recipe,
    load_history,
    load_or_train_model,
    make_optimizer,
    make_schedule,
    save_history,
    save_metrics,
    seed_everything,
    train_model,
)

__version__ = "0.1.0"

__all__ = [
    "CLASS_NAMES",
    "DEBIAN_DATA_DIR",
    "DEFAULT_MODEL_PATH",
    "DEFAULT_RECIPE",
    "FILES",
    "HEADLINE_MODEL_NAME",
    "HEADLINE_RECIPE",
    "INPUT_SHAPE",
    "MODELS",
    "OPTIMIZERS",
    "SEED_RECIPE",
    "DatasetError",
    "EpochLogger",
    "Recipe",
    "add_channel_axis",
    "best_model_path",
    "build_fast_cnn",
    "build_headline_cnn",
    "build_mlp",
    "build_model",
    "build_seed_cnn",
    "check_follows_recipe",
    "classification_report_table",
    "confusion_matrix_table",
    "explain_params",
    "find_data_dir",
    "keras_cache_dir",
    "load_data",
    "load_history",
    "load_image",
    "load_or_train_model",
    "load_trained_model",
    "make_example_image",
    "make_example_photo",
    "make_optimizer",
    "make_schedule",
    "most_confused_pairs",
    "one_hot",
    "plot_class_means",
    "plot_confusion_matrix",
    "plot_differences",
    "plot_history",
    "plot_image_grid",
    "plot_learning_rate",
    "plot_misclassified",
    "plot_pixel_histogram",
    "plot_probabilities",
    "predict_file",
    "predict_image",
    "predict_with_flips",
    "predictions_table",
    "prepare_photo",
    "print_summary",
    "preprocess_images",
    "save_history",
    "save_metrics",
    "save_image",
    "scale_pixels",
    "seed_everything",
    "split_validation",
    "top_predictions",
    "train_model",
]
