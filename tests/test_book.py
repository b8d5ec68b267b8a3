"""Tests of fmnist_helpers/book.py: profiles, the runner's argument checks, the verified line."""

import dataclasses
import re

import papermill
import pytest

from fmnist_helpers import DEFAULT_RECIPE
from fmnist_helpers.book import BOOK_DIR, CHAPTERS, PROFILES, execute_chapter, verified_on


def test_profiles_are_the_default_recipe_and_its_quick_variant():
    assert set(PROFILES) == {"full", "smoke"}
    full, smoke = PROFILES["full"], PROFILES["smoke"]
    assert full.recipe == DEFAULT_RECIPE
    assert smoke.recipe == dataclasses.replace(DEFAULT_RECIPE, epochs=1)
    assert smoke.train_size < full.train_size
    assert full.parameters().keys() == smoke.parameters().keys()
    assert full.parameters()["profile"] == "full" and full.parameters()["epochs"] == DEFAULT_RECIPE.epochs


def test_recipe_rejects_impossible_settings():
    with pytest.raises(ValueError, match=r"batch_size and epochs must be at least 1, got batch_size=0, epochs=10"):
        dataclasses.replace(DEFAULT_RECIPE, batch_size=0)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_declares_a_profile_parameter(chapter):
    declared = papermill.inspect_notebook(BOOK_DIR / f"{chapter}.ipynb")
    assert "profile" in declared


def test_unknown_chapter_and_profile():
    with pytest.raises(ValueError, match=r"unknown chapter '9_nothing'; expected one of 1_load"):
        execute_chapter("9_nothing")
    with pytest.raises(ValueError, match=r"unknown profile 'huge'; expected one of full, smoke"):
        execute_chapter("1_load", profile="huge")


def test_verified_on_names_date_profile_and_versions():
    line = verified_on("full")
    assert re.match(r"Verified on \d{4}-\d{2}-\d{2}: every chapter executed with the `full` profile", line)
    assert "tensorflow 2." in line and "keras 3." in line
