"""SoulLaw configuration: thresholds of the built-in laws and declarative user laws, from
`data/soullaw.toml` or a container's config dict.

    [thresholds]
    growth_limit = 1e6
    sqi_floor = 0.35

    [[laws]]
    name = "max_norm"
    when = "norm > 1e6"        # see codexlab.sqi._conditions for the language
    verdict = "veto"           # or "warn"
    reason = "norm too large"

Everything is validated when loaded: an unknown key, a bad value or a malformed `when` is a
`CodexConfigError` that names the law (or threshold) and the problem.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from codexlab.errors import CodexConfigError, did_you_mean
from codexlab.sqi._conditions import Condition, ConditionError, parse_condition
from codexlab.sqi._summary import as_float, beam_field

__all__ = [
    "BUILTIN_LAW_NAMES",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_THRESHOLDS",
    "SoulLawConfig",
    "UserLaw",
    "load_soullaw_config",
]

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "data" / "soullaw.toml"

#: Defaults of the thresholds. growth_limit: G in ‖out‖ ≤ G·h^−order·max‖in‖. sqi_floor: the qscore a
#: beam needs. max_grid_points / max_loop_iterations: the executor's limits. max_bytes: 4 GiB, a quarter
#: of a 16 GB laptop. norm_tol: |‖ψ‖ − 1| allowed after ⊕ ⊖ ↔ ⧖ in fp64 (and exact), norm_tol_fp32 in
#: fp32, norm_tol_low in narrower formats (bf16's ε = 2^−7 ≈ 0.008, so a few ε).
DEFAULT_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {
        "growth_limit": 1e6,
        "sqi_floor": 0.35,
        "max_grid_points": 64 * 1024 * 1024,
        "max_bytes": 4 * 1024**3,
        "max_loop_iterations": 1_000_000,
        "norm_tol": 1e-6,
        "norm_tol_fp32": 1e-4,
        "norm_tol_low": 3e-2,
    }
)

#: Names of the built-in laws; a user law may not take one.
BUILTIN_LAW_NAMES: tuple[str, ...] = (
    "finite",
    "bounded_growth",
    "normalized_state",
    "resources",
    "data_roots",
    "consent",
    "sqi_floor",
    "qkd_signature",
)
_VERDICTS = ("veto", "warn")
_LAW_KEYS = ("name", "when", "verdict", "reason")
_TOP_KEYS = ("thresholds", "laws")


@dataclass(frozen=True)
class UserLaw:
    """A declarative law: when `condition` holds, the beam gets `verdict` (veto or warn) with `reason`."""

    name: str
    condition: Condition
    verdict: str
    reason: str

    @property
    def when(self) -> str:
        """The condition's text."""
        return self.condition.text

    def rule(self, beam: Mapping[str, Any], context: Mapping[str, Any]) -> tuple[str, str] | None:
        """(outcome, reason), or None when the beam has none of the keys the condition reads.

        Keys are looked up in the context, then the beam's result, then the beam itself (qscore, drift).
        """
        result = beam_field(beam, "result") or {}

        def lookup(key: str) -> float | None:
            for source in (context, result):
                if key in source:
                    return as_float(source[key])
            return as_float(beam_field(beam, key))

        if all(lookup(k) is None for k in self.condition.keys):
            return None
        if self.condition.holds(lookup):
            return self.verdict, self.reason
        return "pass", ""


def _threshold(name: str, value: Any, source: str) -> float:
    if name not in DEFAULT_THRESHOLDS:
        raise CodexConfigError(
            f"SoulLaw threshold `{name}` in {source} is unknown{did_you_mean(name, DEFAULT_THRESHOLDS)}; "
            f"the thresholds are {', '.join(f'`{k}`' for k in DEFAULT_THRESHOLDS)}."
        )
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or number < 0:
        raise CodexConfigError(
            f"SoulLaw threshold `{name}` in {source} must be a finite number ≥ 0, got `{value!r}`; "
            f"the default is `{DEFAULT_THRESHOLDS[name]}`."
        )
    if name == "sqi_floor" and number > 1:
        raise CodexConfigError(f"SoulLaw threshold `sqi_floor` in {source} must lie in [0, 1], got `{value}`.")
    return float(number)


def _user_law(entry: Any, index: int, source: str) -> UserLaw:
    if not isinstance(entry, Mapping):
        raise CodexConfigError(
            f"SoulLaw law #{index + 1} in {source} is a `{type(entry).__name__}`, not a table; write "
            "`[[laws]]` with `name`, `when`, `verdict` and `reason`."
        )
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CodexConfigError(f'SoulLaw law #{index + 1} in {source} has no `name`; add `name = "..."`.')
    label = f"SoulLaw law `{name}` in {source}"
    for key in entry:
        if key not in _LAW_KEYS:
            raise CodexConfigError(
                f"{label} has an unknown key `{key}`{did_you_mean(str(key), _LAW_KEYS)}; the keys are "
                f"{', '.join(f'`{k}`' for k in _LAW_KEYS)}."
            )
    if name in BUILTIN_LAW_NAMES:
        raise CodexConfigError(f"{label} takes the name of a built-in law; rename it (e.g. `{name}_user`).")
    verdict = entry.get("verdict", "veto")
    if verdict not in _VERDICTS:
        raise CodexConfigError(
            f"{label} has verdict `{verdict}`{did_you_mean(str(verdict), _VERDICTS)}; use `veto` or `warn`."
        )
    when = entry.get("when")
    if not isinstance(when, str):
        raise CodexConfigError(f'{label} has no `when` condition; add e.g. `when = "norm > 1e6"`.')
    try:
        condition = parse_condition(when)
    except ConditionError as err:
        raise CodexConfigError(f"{label} has a malformed `when` `{when}`: {err}.") from err
    reason = entry.get("reason", f"user law `{name}`: {when}")
    if not isinstance(reason, str):
        raise CodexConfigError(f'{label} has a `reason` that is not text; write `reason = "..."`.')
    return UserLaw(name, condition, verdict, reason)


@dataclass(frozen=True)
class SoulLawConfig:
    """Threshold overrides (on top of `DEFAULT_THRESHOLDS`) and user laws, in order."""

    overrides: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    laws: tuple[UserLaw, ...] = ()
    source: str = "the defaults"

    @property
    def thresholds(self) -> Mapping[str, float]:
        """Every threshold: the defaults with the overrides applied."""
        return MappingProxyType({**DEFAULT_THRESHOLDS, **self.overrides})

    @classmethod
    def default(cls) -> SoulLawConfig:
        """The default thresholds and no user laws."""
        return cls()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "the container config") -> SoulLawConfig:
        """Validate `{thresholds: {...}, laws: [...]}` (both optional) on top of the defaults."""
        return cls().merged(data, source=source)

    def merged(
        self, other: Mapping[str, Any] | SoulLawConfig | None, *, source: str = "the container config"
    ) -> SoulLawConfig:
        """This config with `other`'s thresholds overriding and its laws added (a user law of the same
        name is replaced). A container's config on top of the file's is `file_config.merged(container)`."""
        if other is None:
            return self
        if isinstance(other, SoulLawConfig):
            overrides, laws, source = dict(other.overrides), list(other.laws), other.source
        else:
            overrides, laws = _parse_mapping(other, source)
        replaced = {law.name for law in laws}
        merged_laws = tuple(law for law in self.laws if law.name not in replaced) + tuple(laws)
        label = source if self.source == "the defaults" else f"{self.source} + {source}"
        return SoulLawConfig(MappingProxyType({**self.overrides, **overrides}), merged_laws, label)


def _parse_mapping(data: Any, source: str) -> tuple[dict[str, float], list[UserLaw]]:
    """Validated threshold overrides and user laws of a `{thresholds, laws}` mapping."""
    if not isinstance(data, Mapping):
        raise CodexConfigError(
            "A SoulLaw config must be a mapping with `thresholds` and `laws`, got a "
            f"`{type(data).__name__}`; pass a dict or a `SoulLawConfig`."
        )
    for key in data:
        if key not in _TOP_KEYS:
            raise CodexConfigError(
                f"The SoulLaw config in {source} has an unknown section `{key}`"
                f"{did_you_mean(str(key), _TOP_KEYS)}; the sections are `thresholds` and `laws`."
            )
    raw_thresholds = data.get("thresholds", {})
    if not isinstance(raw_thresholds, Mapping):
        raise CodexConfigError(f"`thresholds` in {source} must be a table of numbers; write `[thresholds]`.")
    overrides = {str(k): _threshold(str(k), v, source) for k, v in raw_thresholds.items()}
    raw_laws = data.get("laws", [])
    if not isinstance(raw_laws, list | tuple):
        raise CodexConfigError(f"`laws` in {source} must be a list of tables; write `[[laws]]`.")
    laws = [_user_law(entry, i, source) for i, entry in enumerate(raw_laws)]
    names = [law.name for law in laws]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise CodexConfigError(f"SoulLaw law `{duplicate}` is defined twice in {source}; rename one.")
    return overrides, laws


def load_soullaw_config(path: str | os.PathLike[str] | None = None) -> SoulLawConfig:
    """Read thresholds and user laws from a TOML file (default `data/soullaw.toml`, or the defaults
    when that file does not exist).

    Raises: `CodexConfigError` for a missing explicit file, invalid TOML, or an invalid entry.
    """
    target = DEFAULT_CONFIG_PATH if path is None else Path(path).expanduser()
    if not target.exists():
        if path is None:
            return SoulLawConfig.default()
        raise CodexConfigError(f"The SoulLaw file `{target}` does not exist; check the path or omit it.")
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise CodexConfigError(f"The SoulLaw file `{target}` is not valid TOML ({err}); fix that line.") from err
    return SoulLawConfig().merged(data, source=f"`{target.name}`")
