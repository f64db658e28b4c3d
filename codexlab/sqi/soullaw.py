"""SoulLaw: a fail-closed policy over beams.

A law is a named predicate `fn(beam, context) -> Ruling | None` over a beam (a dict: `beam_id`,
`stage`, `token`, `result`, `eid`, `qscore`, …) and its context; it rules pass, warn(reason) or
veto(reason), or returns None when it does not apply to that beam (no verdict is recorded). Laws live in
a registry filled by the `@law("name")` decorator; user laws come declaratively from `data/soullaw.toml`
or a container's config (`codexlab.sqi.soullaw_config`). Any exception inside a law is a veto.

Context keys read by the built-in laws: `name` (the value's name), `op` (default: the beam's token),
`input_norms` (norms of the inputs), `spacing` (h, a number or one per axis), `state_norm`,
`precision` (default: the result's), `grid_points`, `est_bytes`, `loop_iterations`, `load_path`,
`data_roots`, `requires_consent`, `consent_granted`, `container_id`, `qscore` (default: the beam's),
`qkd_on`, `signature_ok`. `vet` adds `thresholds` from the config.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from codexlab.contracts import SoulLawEvent
from codexlab.errors import CodexConfigError, CodexNameError, CodexValueError, ContractError, did_you_mean
from codexlab.sqi._jsonl import append_jsonl
from codexlab.sqi._summary import STATE_OPS, as_float, derivative_order, effective_growth_limit, summary_norm
from codexlab.sqi.soullaw_config import DEFAULT_THRESHOLDS, SoulLawConfig, UserLaw

__all__ = [
    "LAWS",
    "Law",
    "LawRegistry",
    "Outcome",
    "PASS",
    "Ruling",
    "Verdict",
    "check_resources",
    "law",
    "log_soullaw_event",
    "vet",
    "verdict_of",
    "veto",
    "warn",
]

Outcome = Literal["pass", "warn", "veto"]
_STRENGTH: dict[str, int] = {"pass": 0, "warn": 1, "veto": 2}
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_LAW_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Ruling:
    """What a law decided: an outcome and, for warn and veto, why."""

    outcome: Outcome
    reason: str = ""


PASS = Ruling("pass")


def warn(reason: str) -> Ruling:
    """A warning: the beam proceeds, the reason is recorded."""
    return Ruling("warn", reason)


def veto(reason: str) -> Ruling:
    """A veto: the beam is persisted with this verdict and goes no further."""
    return Ruling("veto", reason)


_EVENTS: dict[str, Literal["soullaw_pass", "soullaw_warn", "soullaw_veto"]] = {
    "pass": "soullaw_pass",
    "warn": "soullaw_warn",
    "veto": "soullaw_veto",
}


@dataclass(frozen=True)
class Verdict:
    """One law's verdict on one beam (`beam_id` is None for a check made before any beam exists)."""

    law: str
    outcome: Outcome
    reason: str
    beam_id: str | None

    @property
    def event(self) -> Literal["soullaw_pass", "soullaw_warn", "soullaw_veto"]:
        """`soullaw_pass`, `soullaw_warn` or `soullaw_veto`."""
        return _EVENTS[self.outcome]


LawFn = Callable[[Mapping[str, Any], Mapping[str, Any]], "Ruling | None"]


@dataclass(frozen=True)
class Law:
    """A registered law: its name, predicate and one-line description."""

    name: str
    fn: LawFn
    doc: str = ""


class LawRegistry:
    """Laws by name, in registration order; a duplicate raises unless `override=True`."""

    def __init__(self, laws: Iterable[Law] = ()) -> None:
        self._laws: dict[str, Law] = {}
        for item in laws:
            self._laws[item.name] = item

    def register(self, name: str, fn: LawFn, *, override: bool = False) -> Law:
        """Add `fn` as the law `name`."""
        if not isinstance(name, str) or not _LAW_NAME.match(name):
            raise CodexValueError(f"Law name `{name}` is not valid; use letters, digits and `_` (e.g. `max_norm`).")
        if name in self._laws and not override:
            raise CodexValueError(f"Law `{name}` is already registered; pass `override=True` to replace it.")
        entry = Law(name, fn, (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "")
        self._laws[name] = entry
        return entry

    def law(self, name: str, *, override: bool = False) -> Callable[[LawFn], LawFn]:
        """Decorator: register the function as the law `name`."""

        def register(fn: LawFn) -> LawFn:
            self.register(name, fn, override=override)
            return fn

        return register

    def unregister(self, name: str) -> Law:
        """Remove and return the law `name`."""
        entry = self[name]
        del self._laws[name]
        return entry

    def copy(self) -> LawRegistry:
        """An independent registry with the same laws."""
        return LawRegistry(self._laws.values())

    def names(self) -> tuple[str, ...]:
        """Law names in order."""
        return tuple(self._laws)

    def __getitem__(self, name: str) -> Law:
        try:
            return self._laws[name]
        except KeyError:
            raise CodexNameError(
                f"No law `{name}`{did_you_mean(name, self._laws)}; the laws are "
                f"{', '.join(f'`{n}`' for n in self._laws)}."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._laws

    def __iter__(self) -> Iterator[Law]:
        return iter(list(self._laws.values()))

    def __len__(self) -> int:
        return len(self._laws)


#: The process-wide registry: the built-in laws, plus any registered with `@law`.
LAWS = LawRegistry()


def law(name: str, *, override: bool = False) -> Callable[[LawFn], LawFn]:
    """Decorator: register a law in the process-wide registry (`@law("max_norm")`)."""
    return LAWS.law(name, override=override)


# ------------------------------------------------------------------------------------ built-in laws


def _thresholds(ctx: Mapping[str, Any]) -> Mapping[str, float]:
    return ctx.get("thresholds") or DEFAULT_THRESHOLDS


def _result(beam: Mapping[str, Any]) -> Mapping[str, Any]:
    return beam.get("result") or {}


def _name(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> str:
    return str(ctx.get("name") or _result(beam).get("name") or beam.get("token") or beam.get("beam_id"))


def _op(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> str:
    return str(ctx.get("op") or beam.get("token") or "")


def _number_ok(value: Any) -> bool:
    """False for a NaN/Inf number or number text; True for anything else (text values included)."""
    if isinstance(value, list | tuple):
        return all(_number_ok(v) for v in value)
    number = as_float(value)
    return number is None or math.isfinite(number)


@law("finite")
def _law_finite(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> Ruling | None:
    """A value with NaN or Inf entries is vetoed."""
    result = _result(beam)
    numeric = ("min", "max", "norm") if result.get("kind") == "string" else ("min", "max", "norm", "value")
    keys = [k for k in numeric if k in result]
    if "finite" not in result and not keys:
        return None
    if result.get("finite") is False or not all(_number_ok(result[k]) for k in keys):
        step = result.get("stopped_at")
        where = f" (its loop stopped at iteration {step}, the first non-finite iterate)" if step is not None else ""
        return veto(f"`{_name(beam, ctx)}` has NaN/Inf values{where}")
    return PASS


@law("bounded_growth")
def _law_bounded_growth(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> Ruling | None:
    """‖out‖ ≤ G·max‖in‖ with G = growth_limit·h^−order (order 2 for Δ □, 1 for ∇ ∇· ∇× d/dt ∂)."""
    out = summary_norm(_result(beam))
    inputs = [n for n in (as_float(v) for v in ctx.get("input_norms") or ()) if n is not None and math.isfinite(n)]
    if out is None or math.isnan(out) or not inputs or max(inputs) <= 0:
        return None
    op = _op(beam, ctx)
    limit = effective_growth_limit(_thresholds(ctx)["growth_limit"], op, ctx.get("spacing"))
    largest = max(inputs)
    if out > limit * largest:
        order = derivative_order(op)
        how = f"growth_limit·h^−{order}" if order else "growth_limit"
        return veto(
            f"`{_name(beam, ctx)}` grew from ‖in‖ = {largest:.4g} to ‖out‖ = {out:.4g}, more than "
            f"{limit:.4g}× ({how}) — the op is unstable here"
        )
    return PASS


#: State ops whose beam result is the state itself, so its `norm` is the state norm.
_OWN_NORM_OPS = frozenset({"⊕", "⊖", "superpose", "cancel"})


def _norm_tolerance(precision: str, thresholds: Mapping[str, float]) -> float:
    if precision in ("fp64", "exact", "auto", ""):
        return thresholds["norm_tol"]
    if precision == "fp32":
        return thresholds["norm_tol_fp32"]
    return thresholds["norm_tol_low"]


@law("normalized_state")
def _law_normalized_state(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> Ruling | None:
    """After ⊕ ⊖ ↔ ⧖ the state norm is 1 ± 1e-6 (fp32: 1e-4); ⊕ ⊖ default to the result's own norm."""
    op = _op(beam, ctx)
    raw = ctx.get("state_norm")
    if raw is None and op in _OWN_NORM_OPS:
        raw = _result(beam).get("norm")
    if op not in STATE_OPS or raw is None:
        return None
    norm = as_float(raw)
    precision = str(ctx.get("precision") or _result(beam).get("precision") or "fp64")
    tol = _norm_tolerance(precision, _thresholds(ctx))
    if norm is None or not math.isfinite(norm) or abs(norm - 1.0) > tol:
        return veto(f"the state after `{op}` has norm {norm!r}, not 1 ± {tol:g} ({precision}); normalize it")
    return PASS


def check_resources(
    grid_points: int | None = None,
    est_bytes: int | None = None,
    loop_iterations: int | None = None,
    limits: Mapping[str, float] | None = None,
    *,
    beam_id: str | None = None,
) -> list[Verdict]:
    """Check sizes against the limits before anything is allocated: one verdict per size given.

    `limits` holds `max_grid_points`, `max_bytes`, `max_loop_iterations` (missing ones: the defaults);
    only integer comparisons run here, so a 100000² request is refused without touching memory.
    """
    merged = {**DEFAULT_THRESHOLDS, **(limits or {})}
    checks = (
        ("grid points", grid_points, "max_grid_points", "use fewer points"),
        ("estimated bytes", est_bytes, "max_bytes", "use a coarser grid or a narrower precision"),
        ("loop iterations", loop_iterations, "max_loop_iterations", "bound the loop lower"),
    )
    verdicts = []
    for what, amount, key, fix in checks:
        if amount is None:
            continue
        limit = merged[key]
        if amount > limit:
            reason = (
                f"the request needs {int(amount):,} {what}, over the limit of {int(limit):,} (`{key}`); "
                f"{fix} or raise `{key}`"
            )
            verdicts.append(Verdict("resources", "veto", reason, beam_id))
        else:
            verdicts.append(Verdict("resources", "pass", "", beam_id))
    return verdicts


@law("resources")
def _law_resources(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> Ruling | None:
    """Grid points, estimated bytes and loop iterations within the limits (see `check_resources`)."""
    result = _result(beam)
    loops = ctx.get("loop_iterations", result.get("bound") if beam.get("stage") == "loop" else None)
    verdicts = check_resources(ctx.get("grid_points"), ctx.get("est_bytes"), loops, _thresholds(ctx))
    if not verdicts:
        return None
    vetoes = [v.reason for v in verdicts if v.outcome == "veto"]
    return veto("; ".join(vetoes)) if vetoes else PASS


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


@law("data_roots")
def _law_data_roots(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> Ruling | None:
    """`load()` reads only inside the allowed data roots, and never a URL."""
    if ctx.get("load_path") is None:
        return None
    text = os.fspath(ctx["load_path"])
    if _URL.match(text):
        return veto(f"`load` got the URL `{text}`; only local files inside the data roots may be read")
    roots = [Path(r).expanduser().resolve() for r in ctx.get("data_roots") or ()]
    if not roots:
        return veto(f'`load("{text}")` has no allowed data roots to read from; configure `data_roots`')
    raw = Path(text).expanduser()
    candidates = [raw] if raw.is_absolute() else [Path.cwd() / raw, *(root / raw for root in roots)]
    if any(_inside(c.resolve(), roots) for c in candidates):
        return PASS
    listing = ", ".join(f"`{r}`" for r in roots)
    return veto(f"`{text}` is outside the allowed data roots ({listing}); move the file under one of them")


@law("consent")
def _law_consent(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> Ruling | None:
    """A container with `requires_consent` needs `consent_granted` before ⧖."""
    if _op(beam, ctx) not in ("⧖", "collapse") or not ctx.get("requires_consent"):
        return None
    if ctx.get("consent_granted") is True:
        return PASS
    container = ctx.get("container_id") or beam.get("container_id")
    return veto(f"container `{container}` requires consent before `⧖`; set `consent_granted` in its config")


@law("sqi_floor")
def _law_sqi_floor(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> Ruling | None:
    """qscore below the SQI floor (0.35) is vetoed."""
    q = as_float(ctx.get("qscore", beam.get("qscore")))
    if q is None:
        return None
    floor = _thresholds(ctx)["sqi_floor"]
    if not q >= floor:
        return veto(f"qscore {q:.3f} of `{_name(beam, ctx)}` is under the SQI floor {floor:g}")
    return PASS


@law("qkd_signature")
def _law_qkd_signature(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> Ruling | None:
    """With QKD_ON, an entangled beam whose signature does not verify is vetoed."""
    if not ctx.get("qkd_on"):
        return None
    ok = ctx.get("signature_ok")
    if ok is None:
        return None
    if ok is True:
        return PASS
    return veto(f"the QKD signature of beam `{beam.get('beam_id')}` does not verify (QKD_ON)")


BUILTIN_LAWS: tuple[str, ...] = LAWS.names()

# ---------------------------------------------------------------------------------------------- vet


def _beam_dict(beam: Any) -> dict[str, Any]:
    if isinstance(beam, Mapping):
        return dict(beam)
    if hasattr(beam, "model_dump"):
        return beam.model_dump(mode="python")
    raise CodexValueError(
        f"`vet` needs a BeamEvent or a beam dict, got a `{type(beam).__name__}`; pass the beam itself."
    )


def _config(config: SoulLawConfig | Mapping[str, Any] | None) -> SoulLawConfig:
    if config is None:
        return SoulLawConfig.default()
    if isinstance(config, SoulLawConfig):
        return config
    return SoulLawConfig.from_mapping(config)


def _chosen(laws: LawRegistry | Iterable[Law | str] | None) -> list[Law]:
    if laws is None:
        return list(LAWS)
    if isinstance(laws, LawRegistry):
        return list(laws)
    return [LAWS[item] if isinstance(item, str) else item for item in laws]


def _user_fn(user: UserLaw) -> LawFn:
    def rule(beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> Ruling | None:
        ruled = user.rule(beam, ctx)
        return None if ruled is None else Ruling(cast(Outcome, ruled[0]), ruled[1])

    return rule


def _run(item: Law, beam: Mapping[str, Any], ctx: Mapping[str, Any]) -> Ruling | None:
    """The law's ruling; an exception or a malformed return is a veto (fail-closed)."""
    try:
        ruling = item.fn(beam, ctx)
    except Exception as err:  # noqa: BLE001 - fail-closed: any failure inside a law vetoes the beam
        return veto(f"law `{item.name}` failed: {type(err).__name__}: {err}")
    if ruling is None:
        return None
    if not isinstance(ruling, Ruling) or ruling.outcome not in _STRENGTH:
        return veto(f"law `{item.name}` failed: it returned `{ruling!r}`, not `PASS`, `warn(...)` or `veto(...)`")
    return ruling


def vet(
    beam: Any,
    context: Mapping[str, Any] | None = None,
    *,
    laws: LawRegistry | Iterable[Law | str] | None = None,
    config: SoulLawConfig | Mapping[str, Any] | None = None,
) -> list[Verdict]:
    """Run the laws over one beam: a verdict from each law that applies, in order.

    Parameters: `beam` — a BeamEvent or beam dict; `context` — see the module doc; `laws` — a registry,
    or laws/names (default: every registered law); `config` — thresholds and user laws (a
    `SoulLawConfig` or a `{thresholds, laws}` dict; default: the defaults). User laws always run.
    Returns: the verdicts (none for an `error` beam, which is never vetted).
    Raises: `CodexConfigError` for a user law whose name is also a registered law's.
    """
    data = _beam_dict(beam)
    if data.get("stage") == "error":
        return []
    cfg = _config(config)
    ctx = {**(context or {}), "thresholds": cfg.thresholds}
    chosen = _chosen(laws)
    names = {item.name for item in chosen}
    for user in cfg.laws:
        if user.name in names:
            raise CodexConfigError(
                f"User law `{user.name}` in {cfg.source} has the name of a registered law; rename it."
            )
        chosen.append(Law(user.name, _user_fn(user), f"user law: {user.when}"))
    beam_id = data.get("beam_id")
    verdicts = []
    for item in chosen:
        ruling = _run(item, data, ctx)
        if ruling is not None:
            verdicts.append(Verdict(item.name, ruling.outcome, ruling.reason, beam_id))
    return verdicts


def verdict_of(verdicts: Iterable[Verdict]) -> Outcome:
    """The strongest outcome: veto > warn > pass (pass when there are none)."""
    strongest: Outcome = "pass"
    for v in verdicts:
        if _STRENGTH[v.outcome] > _STRENGTH[strongest]:
            strongest = v.outcome
    return strongest


def soullaw_events(
    verdicts: Verdict | Sequence[Verdict], *, container_id: str, timestamp: float | None = None
) -> list[SoulLawEvent]:
    """The `soullaw_event` records of verdicts (one per verdict, all with one timestamp).

    Raises: `ContractError` for a verdict without a beam id (a record needs the beam it judges).
    """
    batch = [verdicts] if isinstance(verdicts, Verdict) else list(verdicts)
    when = time.time() if timestamp is None else timestamp
    events = []
    for v in batch:
        if v.beam_id is None:
            raise ContractError(
                f"A soullaw_event needs the beam_id of the beam it judges; `{v.law}`'s verdict has none."
            )
        events.append(
            SoulLawEvent(
                event=v.event, law=v.law, reason=v.reason, beam_id=v.beam_id, container_id=container_id, timestamp=when
            )
        )
    return events


def log_soullaw_event(
    verdicts: Verdict | Sequence[Verdict],
    *,
    path: str | os.PathLike[str],
    container_id: str,
    store: Any = None,
    timestamp: float | None = None,
    store_outcomes: Iterable[str] | None = None,
) -> list[SoulLawEvent]:
    """Append verdicts to the collapse-trace JSONL as `soullaw_event` records (one write, flush and
    fsync per batch) and, with a store, to its `collapse_traces` table (only the verdicts whose outcome
    is in `store_outcomes`, when given: passes are already on their beams).

    Raises: `ContractError` for a verdict without a beam id (a record needs the beam it judges).
    """
    batch = [verdicts] if isinstance(verdicts, Verdict) else list(verdicts)
    events = soullaw_events(batch, container_id=container_id, timestamp=timestamp)
    append_jsonl(path, events)
    kept = (
        events
        if store_outcomes is None
        else [e for e, v in zip(events, batch, strict=True) if v.outcome in set(store_outcomes)]
    )
    if store is not None and kept:
        store.persist_rows("collapse_traces", kept)
    return events
