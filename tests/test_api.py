"""The package's public face: every name in __all__ imports and is documented."""

import importlib
import inspect
import re
from pathlib import Path

import fmnist_helpers


def test_every_name_in_all_imports():
    module = importlib.import_module("fmnist_helpers")
    for name in fmnist_helpers.__all__:
        assert hasattr(module, name), name
    assert sorted(fmnist_helpers.__all__) == sorted(set(fmnist_helpers.__all__))


def test_public_functions_have_docstrings_and_types():
    for name in fmnist_helpers.__all__:
        obj = getattr(fmnist_helpers, name)
        if inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
            signature = inspect.signature(obj)
            assert signature.return_annotation is not inspect.Signature.empty, f"{name} lacks a return type"
            for parameter in signature.parameters.values():
                if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                    assert parameter.annotation is not inspect.Parameter.empty, f"{name}({parameter.name})"


def test_ships_py_typed():
    assert (Path(fmnist_helpers.__file__).parent / "py.typed").is_file()


def test_api_page_says_truly_which_names_import_from_the_top_level():
    # api.md: every name in the sections Data to "Image files and photos" imports from the
    # top level, except those its first paragraph names. autodoc documents each module's __all__.
    page = (Path(__file__).resolve().parents[1] / "book" / "api.md").read_text()
    library, machinery = page.split("## The book's machinery")
    first_paragraph = library.split("\n\n")[1]
    exceptions = set(re.findall(r"`(\w+)`", first_paragraph.split("except these six")[1]))
    modules = re.findall(r"automodule:: (fmnist_helpers\.\w+)", library)
    assert modules[0] == "fmnist_helpers.data" and modules[-1] == "fmnist_helpers.inference"
    documented = {name for module in modules for name in importlib.import_module(module).__all__}
    assert documented - set(fmnist_helpers.__all__) == exceptions
    assert len(exceptions) == 6
