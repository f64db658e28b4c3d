"""`OpSpec`: one record per glyph and builtin, the single place its facts live.

Every other table derives from the specs: Photon's linearity and annihilation rules, the commutative
operators of canonical ordering, derivative orders for drift and growth laws, elementary and pure
functions, fusable ops, stencil radii, FLOPs and bytes for the cost report, and the keywords a call may
take. Implementations register into their spec from the layer that owns them (py-pde's
`register_operator` pattern): the exact rule from `codexlab.photon.symbolic`, the raw-array rule from
`codexlab.qwave.arrays` and host kernels (states, data sources, solvers) from `codexlab.qwave.host`.
A spec loads its implementing module on first lookup, so asking for `spec.array` is enough.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from ..errors import BackendError, CodexTypeError, CodexValueError, did_you_mean

if TYPE_CHECKING:
    from ..contracts.beam import Stage

__all__ = [
    "Kind",
    "KINDS",
    "SCALAR_KINDS",
    "FIELD_KINDS",
    "KindEnv",
    "KindMismatch",
    "KindRule",
    "Keyword",
    "OpSpec",
    "OpTable",
    "GLOBAL",
    "SPECS",
    "IMPLEMENTATIONS",
    "register_op",
    "spec_of",
    "find_spec",
    "iter_specs",
    "implements",
    "stencil_radius",
    "derived_tables",
]

Kind = Literal["number", "bool", "string", "field", "vector", "tensor", "pair", "measurement", "data"]
#: Every value kind. `data` is a value whose kind is known only once it is loaded (`load(...)`).
KINDS: tuple[str, ...] = ("number", "bool", "string", "field", "vector", "tensor", "pair", "measurement", "data")
#: Kinds that act as scalars in arithmetic: a number is a constant field.
SCALAR_KINDS = frozenset({"number", "field"})
#: Kinds that live on the grid.
FIELD_KINDS = frozenset({"field", "vector", "tensor"})

#: Where each kind of implementation registers itself (imported on first lookup).
IMPLEMENTATIONS: Mapping[str, str] = MappingProxyType(
    {
        "symbolic": "codexlab.photon.symbolic",
        "terms": "codexlab.photon.symbolic",
        "array": "codexlab.qwave.arrays",
        "host": "codexlab.qwave.host",
    }
)


class KindMismatch(Exception):
    """Raised by a kind rule: which operand (index, or None for the whole op), the problem, the fix, and
    for an operand the kind it had (the caller names the operand in its message)."""

    def __init__(self, operand: int | None, problem: str, fix: str, *, got: str | None = None) -> None:
        super().__init__(problem)
        self.operand = operand
        self.problem = problem
        self.fix = fix
        self.got = got


@dataclass(frozen=True)
class KindEnv:
    """What a kind rule may read besides the operands: spatial dimensions and whether `t` is an axis."""

    dims: int = 2
    has_time: bool = False


KindRule = Callable[[tuple[str, ...], KindEnv], str]


@dataclass(frozen=True)
class Keyword:
    """One keyword of a call: its default, a check of its value (a sentence when bad), aliases."""

    default: Any = None
    check: Callable[[Any], str | None] | None = None
    aliases: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class OpSpec:
    """The facts of one glyph or builtin.

    `key` is the Photon op (`"Δ"`, `"+"`) or, for calls, the function name (`"sin"`). `arity` is the
    (min, max) count of positional operands; `kind` maps operand kinds to the result kind (raising
    `KindMismatch`); `order` is the derivative order (0 for pointwise ops) and `axis` the one axis a
    partial derivative needs; `flops` and `bytes` are per output point and component, for the cost
    report; `linear` means linear in its operand (Photon distributes it over + − and constant
    factors), `const_zero` that it maps constants to 0; `commutes(kinds)` whether swapping the two
    operands keeps the value; `fusable` whether the raw-array rule runs inside a jitted program (a
    predicate of the operand kinds where that depends on them); `elementary` marks pointwise scalar
    functions, `pure` calls with no hidden time dependence or randomness, `source` calls that make
    data (no exact form), `reduction` calls that reduce a field to a number; `precision_class` says
    how its rounding error scales and `stage` is the beam stage of its grid path.
    """

    key: str
    name: str
    arity: tuple[int, int]
    kind: KindRule
    doc: str = ""
    order: int = 0
    axis: str | None = None
    flops: float = 1.0
    #: Bytes moved per output point and component; 0 (the default) means each operand read once and the
    #: result written once, 8 bytes a value.
    bytes: float = 0.0
    linear: bool = False
    const_zero: bool = False
    commutes: Callable[[tuple[str, ...]], bool] | None = None
    associative: bool = False
    fusable: bool | Callable[[tuple[str, ...]], bool] = True
    elementary: bool = False
    pure: bool = True
    source: bool = False
    reduction: bool = False
    precision_class: str = "pointwise"
    stage: Stage = "wave"
    keywords: Mapping[str, Keyword] = field(default_factory=dict)
    #: Names of the positional parameters, for signatures in messages (`gaussian(x, y[, z], …)`).
    params: tuple[str, ...] = ()
    #: A builtin function (called by name); `norm` is also the op of `‖e‖`.
    call_only: bool = False
    #: Implementations carried by the spec itself (a Lab's fusion glyph), before the registered ones.
    impl: Mapping[str, Callable[..., Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.bytes:
            object.__setattr__(self, "bytes", 8.0 * (self.arity[1] + 1))

    # ------------------------------------------------------------------------------ implementations

    def _impl(self, what: str) -> Any:
        if what in self.impl:
            return self.impl[what]
        table = _IMPL[what]
        if self.key not in table:
            importlib.import_module(IMPLEMENTATIONS[what])
        return table.get(self.key)

    @property
    def symbolic(self) -> Callable[..., Any] | None:
        """The exact rule (SymPy), or None when the op has no exact form."""
        return self._impl("symbolic")

    @property
    def terms(self) -> Callable[..., Any] | None:
        """The exact terms the op sums before they cancel (the drift scale of SEMANTICS), or None for an
        op whose value is its only term."""
        return self._impl("terms")

    @property
    def array(self) -> Callable[..., Any] | None:
        """The raw-array rule (JAX), used alone or fused into a program, or None."""
        return self._impl("array")

    @property
    def host(self) -> Callable[..., Any] | None:
        """The host kernel (values that do not fit one array: pairs, measurements, data sources), or None."""
        return self._impl("host")

    # ----------------------------------------------------------------------------------- helpers

    def result_kind(self, kinds: tuple[str, ...], env: KindEnv) -> str:
        """The result kind for these operand kinds (raises `KindMismatch`)."""
        lo, hi = self.arity
        if not lo <= len(kinds) <= hi:
            count = str(lo) if lo == hi else f"{lo} to {hi}"
            raise KindMismatch(
                None, f"`{self.key}` takes {count} operand{'s' if hi != 1 else ''}, got {len(kinds)}", ""
            )
        if "data" in kinds:
            return _data_result(self, kinds, env)
        return self.kind(kinds, env)

    def fusable_for(self, kinds: tuple[str, ...]) -> bool:
        """Whether the raw-array rule may run inside a fused program for operands of these kinds."""
        return self.fusable(kinds) if callable(self.fusable) else self.fusable

    def commutative_for(self, kinds: tuple[str, ...]) -> bool:
        """Whether `a op b == b op a` for operands of these kinds."""
        return self.commutes is not None and len(kinds) == 2 and self.commutes(kinds)

    def resolve_keywords(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The call's keywords with aliases resolved, checked, and defaults filled in.

        Raises `CodexTypeError` for an unknown or repeated keyword, `CodexValueError` for a bad value.
        """
        alias = {a: canon for canon, kw in self.keywords.items() for a in kw.aliases}
        out: dict[str, Any] = {}
        for key, value in given.items():
            canon = alias.get(key, key)
            if canon not in self.keywords:
                valid = [*self.keywords, *alias]
                options = ", ".join(f"`{k}`" for k in self.keywords) or "none"
                raise CodexTypeError(
                    f"`{self.key}` has no keyword `{key}`{did_you_mean(key, valid)}; its keywords are {options}."
                )
            if canon in out:
                raise CodexTypeError(f"`{self.key}` got keyword `{canon}` twice; write it once.")
            check = self.keywords[canon].check
            problem = check(value) if check is not None else None
            if problem is not None:
                raise CodexValueError(f"`{self.key}`: keyword `{key}` {problem}.")
            out[canon] = value
        return {k: out.get(k, kw.default) for k, kw in self.keywords.items()}


def _data_result(spec: OpSpec, kinds: tuple[str, ...], env: KindEnv) -> str:
    """With operands of unknown kind (`data`: a loaded field, or a name nothing is known about), the
    result kind every possible operand kind agrees on, else `data`; a mismatch if no kind fits."""
    results: set[str] = set()
    first: KindMismatch | None = None
    for guess in ("number", "field", "vector", "tensor"):
        try:
            results.add(spec.kind(tuple(guess if k == "data" else k for k in kinds), env))
        except KindMismatch as err:
            first = first or err
    if not results:
        assert first is not None
        raise first
    return results.pop() if len(results) == 1 else "data"


SPECS: dict[str, OpSpec] = {}
_IMPL: dict[str, dict[str, Callable[..., Any]]] = {what: {} for what in IMPLEMENTATIONS}


def register_op(spec: OpSpec, *, override: bool = False) -> OpSpec:
    """Add a spec; a duplicate key raises unless `override=True` (a Lab's fusion glyph replaces its own)."""
    if spec.key in SPECS and not override:
        raise CodexValueError(f"`{spec.key}` already has a spec; pass `override=True` to replace it.")
    SPECS[spec.key] = spec
    return spec


def implements(key: str, what: str, *, override: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register `fn` as the `what` ("symbolic", "array" or "host") implementation of `key`."""
    if what not in _IMPL:
        raise CodexValueError(f"Unknown implementation kind `{what}`{did_you_mean(what, _IMPL)}.")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _load_builtin_specs()
        if key not in SPECS:
            raise CodexValueError(f"`{key}` has no spec; register its `OpSpec` first.")
        table = _IMPL[what]
        if key in table and not override:
            raise CodexValueError(f"`{key}` already has a `{what}` implementation; pass `override=True`.")
        table[key] = fn
        return fn

    return register


def find_spec(key: str) -> OpSpec | None:
    """The spec of `key`, or None (the built-in specs are loaded on first use)."""
    _load_builtin_specs()
    return SPECS.get(key)


def spec_of(key: str) -> OpSpec:
    """The spec of `key`, or a `BackendError` with the closest known names."""
    spec = find_spec(key)
    if spec is None:
        raise BackendError(f"`{key}` is not a glyph or builtin{did_you_mean(key, SPECS)}; see `codexlab.ops.SPECS`.")
    return spec


def iter_specs() -> Iterator[OpSpec]:
    """Every spec, built-in ones first."""
    _load_builtin_specs()
    return iter(list(SPECS.values()))


class OpTable:
    """The specs one Lab sees: the built-in ones plus its own (fusion glyphs), so one Lab's glyph never
    appears in another."""

    def __init__(self, own: Mapping[str, OpSpec] | None = None) -> None:
        self.own: dict[str, OpSpec] = dict(own or {})

    def find(self, key: str) -> OpSpec | None:
        """The spec of `key`, or None."""
        return self.own.get(key) or find_spec(key)

    def get(self, key: str) -> OpSpec:
        """The spec of `key`, or a `BackendError` with the closest known names."""
        spec = self.find(key)
        if spec is None:
            known = [*SPECS, *self.own]
            raise BackendError(f"`{key}` is not a glyph or builtin{did_you_mean(key, known)}.")
        return spec

    def add(self, spec: OpSpec) -> OpSpec:
        """Add (or replace) one of this table's own specs."""
        self.own[spec.key] = spec
        return spec

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.find(key) is not None

    def names(self) -> list[str]:
        """Every key this table resolves."""
        _load_builtin_specs()
        return sorted({*SPECS, *self.own})


#: The table of a context without its own specs.
GLOBAL = OpTable()


def stencil_radius(spec: OpSpec, method: str) -> int:
    """How many points on each side the op reads: 0 for pointwise ops, else the method's FD radius."""
    if spec.order == 0:
        return 0
    return {"fd2": 1, "fd4": 2}.get(method, 1)


def derived_tables() -> dict[str, Any]:
    """The tables other modules used to keep by hand, computed from the specs (for docs and tests)."""
    specs = list(iter_specs())
    return {
        "derivative_order": {s.key: s.order for s in specs if s.order},
        "linear": sorted(s.key for s in specs if s.linear),
        "const_zero": sorted(s.key for s in specs if s.const_zero),
        "elementary": sorted(s.key for s in specs if s.elementary),
        "pure": sorted(s.key for s in specs if s.pure and s.call_only),
        "fusable": sorted(s.key for s in specs if s.fusable is True),
        "sources": sorted(s.key for s in specs if s.source),
    }


_loaded = False


def _load_builtin_specs() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module("codexlab.ops.glyphs")
