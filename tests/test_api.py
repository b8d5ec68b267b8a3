"""The package's public face: every name in __all__ imports and is documented."""

import importlib
import inspect
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
