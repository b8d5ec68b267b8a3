"""Mark nbval's notebook items as slow, so `pytest -m "not slow"` is the fast set."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
