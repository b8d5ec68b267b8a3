"""Every chapter's install cell: its first code cell, shown, pinned to the package's version.

``make release VERSION=X.Y.Z`` pins them; ``python -m fmnist_helpers.publish pin-install-cells``
pins them to the current version.
"""

from __future__ import annotations

import pytest
import yaml

import fmnist_helpers
from fmnist_helpers.book import CHAPTERS
from fmnist_helpers.publish import install_cell_source

from .conftest import ROOT, code_cells
from .conftest import cell_source as source
from .conftest import cell_tags as tags
from .conftest import load_chapter as load

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
FIX = "run `python -m fmnist_helpers.publish pin-install-cells`, then commit the chapters"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_install_cell_is_the_first_code_cell_shown_and_pinned_to_the_packages_version(chapter):
    first = code_cells(load(chapter))[0]
    assert "remove-cell" not in tags(first), f"{chapter}: the install cell is hidden; {FIX}"
    assert f'@v{fmnist_helpers.__version__}"' in source(first), (
        f"{chapter}: the install cell is not pinned to v{fmnist_helpers.__version__}; {FIX}")
    assert source(first) == install_cell_source(CONFIG["repository"]["url"], fmnist_helpers.__version__), FIX
    assert not first["outputs"], f"{chapter}: the install cell printed something outside Colab"
