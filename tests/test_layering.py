"""Arrows point down the flow (docs/architecture.md): a package imports only packages of lower layers.

Type-only imports (`if TYPE_CHECKING:`) are not imports at run time and are not checked. The Lab's thin
methods that hand a user's call to a package above it (`lab.sweep`, `lab.run_sheet`, `lab.container`,
the pattern engine's hooks) import it late, inside the method, because that cycle is real; those are
listed in `LATE_UPWARD` and nothing else may point up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "codexlab"

#: The layer of each top-level package or module: a module may import only lower or equal layers.
LAYERS: dict[str, int] = {
    "errors": 0,
    "_version": 0,
    "flags": 0,
    "caches": 0,
    "ops": 1,
    "contracts": 1,
    "lang": 2,
    "store": 2,
    "photon": 3,
    "qwave": 4,
    "sqi": 5,
    "kg": 5,
    "runtime": 6,
    "patterns": 7,
    "qpu": 7,
    "container": 7,
    "scale": 7,
    "hud": 7,
    "vcpu": 7,
    "server": 8,
    "magics": 8,
    "preload": 8,
    "demo": 8,
    "cli": 9,
    "__init__": 10,
}

#: (importing file, imported package): the Lab's facade methods, late imports where the cycle is real.
LATE_UPWARD = {
    ("runtime/lab.py", "patterns"),
    ("runtime/lab.py", "qpu"),
    ("runtime/lab.py", "container"),
    ("runtime/lab.py", "scale"),
}


def _imports(source: str, rel: tuple[str, ...]) -> list[tuple[str, bool]]:
    """(imported codexlab package, whether the import is inside a function) for every run-time import of
    the module at `rel` (its path inside the package)."""
    tree = ast.parse(source)
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    late: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            late.update(id(n) for n in ast.walk(node))
    out = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel[:-1])[: len(rel) - node.level] if node.level > 1 else list(rel[:-1])
                modules = [".".join(["codexlab", *base, *([node.module] if node.module else [])])]
                if not node.module:
                    modules = [f"{modules[0]}.{a.name}" for a in node.names]
            else:
                modules = [node.module or ""]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "codexlab" and len(parts) > 1:
                out.append((parts[1], id(node) in late))
            elif module == "codexlab":
                out.append(("__init__", id(node) in late))
    return out


def _files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _check(source: str, rel: Path) -> None:
    own = rel.parts[0].removesuffix(".py")
    assert own in LAYERS, f"`{own}` has no layer in LAYERS; add it (and to docs/architecture.md)"
    for target, is_late in _imports(source, rel.parts):
        if target == own:
            continue
        assert target in LAYERS, f"`{rel}` imports `codexlab.{target}`, which has no layer"
        if LAYERS[target] <= LAYERS[own]:
            continue
        allowed = is_late and (rel.as_posix(), target) in LATE_UPWARD
        assert allowed, f"`{rel}` (layer {LAYERS[own]}) imports `codexlab.{target}` (layer {LAYERS[target]})"


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    _check(path.read_text(encoding="utf-8"), path.relative_to(PACKAGE))


def test_the_checker_sees_an_upward_import() -> None:
    """The check itself can fail: a lower module importing the runtime, eagerly or late, is reported."""
    for source in ("from codexlab.runtime import Lab\n", "def f():\n    from ..runtime import Lab\n"):
        with pytest.raises(AssertionError, match=r"store/probe.py` \(layer 2\) imports `codexlab.runtime`"):
            _check(source, Path("store/probe.py"))
    _check("if TYPE_CHECKING:\n    from ..runtime import Lab\n", Path("store/probe.py"))  # type-only
