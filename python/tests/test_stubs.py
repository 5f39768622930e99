"""The type stubs ship with the package and agree with the compiled module: every public name
of the module is in the stubs and the other way round, with the same base classes, the same
methods and properties, and the same parameters (names, kinds and defaults)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import types
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import wmark
import wmark._wmark as native

PACKAGE = Path(wmark.__file__).parent
STUB = PACKAGE / "_wmark.pyi"
TREE = ast.parse(STUB.read_text())


def test_stubs_and_marker_ship_in_the_installed_package() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert STUB.is_file()
    # the installed package is the wheel's, not the source tree's
    assert Path(native.__file__).parent == PACKAGE


def is_typeddict(node: ast.ClassDef) -> bool:
    return any(isinstance(b, ast.Name) and b.id == "TypedDict" for b in node.bases)


def stub_names() -> Dict[str, ast.AST]:
    out: Dict[str, ast.AST] = {}
    for node in TREE.body:
        if isinstance(node, ast.ClassDef) and not is_typeddict(node):
            out[node.name] = node
        elif isinstance(node, ast.FunctionDef):
            out.setdefault(node.name, node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and not node.target.id.startswith("_"):
            out[node.target.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "__version__":
            out["__version__"] = node
    return out


def runtime_names() -> List[str]:
    return [n for n in dir(native) if not n.startswith("_") or n == "__version__"]


def test_every_runtime_name_is_in_the_stubs_and_back() -> None:
    stubs = stub_names()
    assert sorted(stubs) == sorted(runtime_names())


def params_of_stub(fn: ast.FunctionDef, is_method: bool) -> List[Tuple[str, str, object]]:
    a = fn.args
    out: List[Tuple[str, str, object]] = []
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for arg, d in zip(positional, defaults):
        out.append((arg.arg, "positional", ast.literal_eval(d) if d is not None else inspect.Parameter.empty))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, "keyword", ast.literal_eval(d) if d is not None else inspect.Parameter.empty))
    if is_method and out and out[0][0] == "self":
        out = out[1:]
    return out


def params_of_runtime(obj: object, is_method: bool) -> List[Tuple[str, str, object]]:
    sig = inspect.signature(obj)  # type: ignore[arg-type]
    out = []
    for p in sig.parameters.values():
        kind = "keyword" if p.kind is inspect.Parameter.KEYWORD_ONLY else "positional"
        out.append((p.name, kind, p.default))
    if is_method and out and out[0][0] == "self":
        out = out[1:]
    return out


def is_property(fn: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list)


def is_static(fn: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)


DUNDERS_WITHOUT_SIGNATURE = {"__eq__", "__hash__"}


@pytest.mark.parametrize("name", [n.name for n in TREE.body if isinstance(n, ast.ClassDef) and not is_typeddict(n)])
def test_classes(name: str) -> None:
    node = next(n for n in TREE.body if isinstance(n, ast.ClassDef) and n.name == name)
    cls = getattr(native, name)
    assert isinstance(cls, type)
    stub_bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
    if issubclass(cls, BaseException):
        assert [b.__name__ for b in cls.__bases__] == stub_bases
        return
    methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
    declared = {m.name for m in methods}
    public_runtime = {n for n in vars(cls) if not n.startswith("_")}
    assert public_runtime == {m for m in declared if not m.startswith("_")}, name
    for m in methods:
        attr = inspect.getattr_static(cls, m.name)
        if is_property(m):
            # pyo3's generated getters: a getset, or a member for a field holding a Python object
            assert isinstance(attr, (property, types.GetSetDescriptorType, types.MemberDescriptorType)), m.name
        elif m.name == "__init__":
            assert params_of_stub(m, True) == params_of_runtime(cls, False), name
        elif m.name in DUNDERS_WITHOUT_SIGNATURE:
            assert m.name in vars(cls), m.name
        elif is_static(m):
            assert isinstance(attr, staticmethod) or callable(getattr(cls, m.name)), m.name
            assert params_of_stub(m, False) == params_of_runtime(getattr(cls, m.name), False), m.name
        else:
            assert params_of_stub(m, True) == params_of_runtime(getattr(cls, m.name), True), m.name


def test_functions() -> None:
    fns = [n for n in TREE.body if isinstance(n, ast.FunctionDef)]
    assert fns
    for fn in fns:
        runtime = getattr(native, fn.name)
        stub = params_of_stub(fn, False)
        got = params_of_runtime(runtime, False)
        # an @overload narrows a default's type; names and kinds must agree
        assert [(n, k) for n, k, _ in stub] == [(n, k) for n, k, _ in got], fn.name


def test_package_exports_exist() -> None:
    for name in wmark.__all__:
        assert hasattr(wmark, name), name


def test_mypy_stubtest_agrees(tmp_path: Path) -> None:
    """mypy's stubtest, against the installed package (run outside the source tree)."""
    proc = subprocess.run([sys.executable, "-m", "mypy.stubtest", "wmark"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout
