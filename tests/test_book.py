"""Tests of fmnist_helpers/book.py: profiles, the runner's argument checks, the verified line."""

import re

import papermill
import pytest

from fmnist_helpers.book import BOOK_DIR, CHAPTERS, PROFILES, execute_chapter, verified_on


def test_profiles_share_their_keys():
    assert set(PROFILES) == {"full", "smoke"}
    assert PROFILES["full"].keys() == PROFILES["smoke"].keys()
    assert PROFILES["smoke"]["epochs"] < PROFILES["full"]["epochs"]


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
