"""The public API is fully typed: no `Any` in a signature of `Lab`, `Run`, the `.cx` accessor or the magics.

mypy (in `make lint`) checks that the annotations hold; this checks that they say something.
"""

from __future__ import annotations

import inspect
import re

import pytest

import codexlab
from codexlab.magics import CodexMagic
from codexlab.qwave.accessor import CodexAccessor
from codexlab.runtime.lab import Lab
from codexlab.runtime.run import Run

_ANY = re.compile(r"\bAny\b")


def _own_signatures(cls: type) -> list[tuple[str, dict[str, object]]]:
    """(name, annotations) of the public callables and properties `cls` itself defines."""
    out = []
    for name, member in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        target = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
        if callable(target) and hasattr(target, "__annotations__"):
            out.append((name, dict(target.__annotations__)))
    return out


@pytest.mark.parametrize("cls", [Lab, Run, CodexAccessor, CodexMagic], ids=lambda c: c.__name__)
def test_public_signatures_have_no_any(cls: type) -> None:
    found = [
        f"{cls.__name__}.{name}({arg}: {ann})"
        for name, annotations in _own_signatures(cls)
        for arg, ann in annotations.items()
        if _ANY.search(str(ann))
    ]
    assert not found, "public signatures with `Any`: " + "; ".join(found)


def test_every_public_callable_is_annotated() -> None:
    missing = [
        f"{cls.__name__}.{name}"
        for cls in (Lab, Run, CodexAccessor, CodexMagic)
        for name, annotations in _own_signatures(cls)
        if "return" not in annotations
    ]
    assert not missing, "public callables without a return annotation: " + ", ".join(missing)


def test_run_fields_are_typed() -> None:
    fields = Run.__dataclass_fields__
    untyped = [n for n, f in fields.items() if _ANY.search(str(f.type))]
    assert not untyped, f"Run fields typed `Any`: {untyped}"


def test_extension_entry_points_are_typed() -> None:
    for fn in (codexlab.load_ipython_extension, codexlab.magics.load_ipython_extension):
        hints = inspect.get_annotations(fn)
        assert hints and not any(_ANY.search(str(h)) for h in hints.values()), fn.__qualname__
