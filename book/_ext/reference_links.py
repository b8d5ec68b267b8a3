"""Sphinx extension: intersphinx links where inventories are reachable, plain text where not.

Jupyter Book loads it through ``sphinx.local_extensions`` in ``_config.yml``. The site is
built with ``-W -n`` (every warning an error, every unresolved reference a warning), so:

- Before intersphinx loads anything, each inventory in ``intersphinx_mapping`` is probed.
  One that cannot be reached (no network at build time) is dropped with an info line, and
  references into its package are added to ``nitpick_ignore_regex``: they render as plain
  text instead of failing the build.
- Keras and TensorFlow publish no Sphinx inventory (keras.io is not built with Sphinx), so
  references to their classes always stay plain text.
- A reference to a name the package re-exports (``fmnist_helpers.load_data``, as the
  chapters import it) or to a bare name of another module (``load_data`` in a docstring of
  ``fmnist_helpers.evaluation``) resolves to where the API reference documents it
  (``fmnist_helpers.data.load_data``).
- Constants' ``#:`` comments and properties' docstrings are prose: napoleon would read
  "The runs: ..." as the type "The runs", so they are kept out of its reach.
"""

from __future__ import annotations

import functools
import importlib
import re
import urllib.error
import urllib.request
from typing import Any

from docutils import nodes

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Top-level packages referenced by the package's annotations that are not linked: Keras and
#: TensorFlow have no inventory; Pillow, nbformat and traitlets are not in the mapping.
WITHOUT_INVENTORY = ("keras", "tensorflow", "PIL", "nbformat", "traitlets")

#: Short type names the docstrings use, and what they name.
SHORT_TYPE_NAMES = {"Path": "pathlib.Path", "Axes": "matplotlib.axes.Axes", "np.ndarray": "numpy.ndarray",
                    "pd.DataFrame": "pandas.DataFrame"}

#: The package's modules that the API reference documents, each with ``:members:``.
DOCUMENTED_MODULES = ("data", "preprocessing", "models", "layers", "recipes", "training", "evaluation",
                      "plotting", "inference", "book", "book_files", "experiments", "sweep", "publish")

#: The package each intersphinx key documents (its references start with this name).
PACKAGES = {"python": r"(builtins|collections|os|pathlib|typing|dataclasses|argparse|io)",
            "numpy": "numpy", "pandas": "pandas", "sklearn": "sklearn", "matplotlib": "matplotlib"}


def _reachable(url: str, timeout: float) -> bool:
    inventory = url.rstrip("/") + "/objects.inv"
    try:
        with urllib.request.urlopen(inventory, timeout=timeout):  # noqa: S310 (https only)
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _prune_unreachable(app: Sphinx, config: Config) -> None:
    ignored = [(r"py:.*", rf"{package}(\..*)?") for package in WITHOUT_INVENTORY]
    mapping: dict[str, Any] = dict(config.intersphinx_mapping)
    for key, (url, *_rest) in list(mapping.items()):
        if not _reachable(url, config.intersphinx_timeout or 5):
            logger.info(f"intersphinx: {url} cannot be reached; links to {key} stay plain text")
            del mapping[key]
            package = PACKAGES.get(key, key)
            ignored.append((r"py:.*", rf"{package}(\..*)?"))
            ignored += [(r"py:.*", re.escape(short)) for short, full in SHORT_TYPE_NAMES.items()
                        if re.fullmatch(rf"{package}(\..*)?", full)]
    config.intersphinx_mapping = mapping
    config.nitpick_ignore_regex = [*config.nitpick_ignore_regex, *ignored]


@functools.cache
def _documented_names() -> dict[str, str]:
    """Map each documented name to its full name: ``load_data`` -> ``fmnist_helpers.data.load_data``."""
    names = {}
    for module_name in DOCUMENTED_MODULES:
        module = importlib.import_module(f"fmnist_helpers.{module_name}")
        for name in getattr(module, "__all__", ()):
            names.setdefault(name, f"fmnist_helpers.{module_name}.{name}")
    return names


def _resolve_package_names(app: Sphinx, env: Any, node: Any, contnode: nodes.Element) -> Any:
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    if target in SHORT_TYPE_NAMES:  # the docstrings' short type names
        return domain_resolve(app, env, node, contnode, SHORT_TYPE_NAMES[target])
    short = target.removeprefix("fmnist_helpers.")
    full = _documented_names().get(short)
    if full is None or full == target:
        return None
    return domain_resolve(app, env, node, contnode, full)


def domain_resolve(app: Sphinx, env: Any, node: Any, contnode: nodes.Element, target: str) -> Any:
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], target, node, contnode)


#: What autodoc documents from a comment or a one-paragraph docstring, not numpydoc sections.
CONSTANT_KINDS = ("data", "attribute", "property")
_constant_comments: dict[str, list[str]] = {}


def _keep_constant_comment(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                           lines: list[str]) -> None:
    if what in CONSTANT_KINDS:
        _constant_comments[name] = list(lines)


def _restore_constant_comment(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                              lines: list[str]) -> None:
    if what in CONSTANT_KINDS and name in _constant_comments:
        lines[:] = _constant_comments.pop(name)


def setup(app: Sphinx) -> dict[str, Any]:
    # Before sphinx.ext.intersphinx normalizes the mapping (priority 800) and loads it.
    app.connect("config-inited", _prune_unreachable, priority=100)
    app.connect("missing-reference", _resolve_package_names)
    # Around napoleon (priority 500): a constant's comment comes out as it went in.
    app.connect("autodoc-process-docstring", _keep_constant_comment, priority=400)
    app.connect("autodoc-process-docstring", _restore_constant_comment, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
