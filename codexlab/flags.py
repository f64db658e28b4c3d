"""Feature flags, resolved from arguments, then environment, then `[tool.codexlab]`, then defaults."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from codexlab.errors import CodexConfigError, CodexValueError, did_you_mean

__all__ = [
    "parse_flag_overrides",
    "CONFIG_KEYS",
    "FLAG_NAMES",
    "FLAG_SPECS",
    "FlagSource",
    "FlagSpec",
    "Flags",
    "find_pyproject",
    "format_flags_table",
    "resolve_flags",
]

FlagSource = Literal["argument", "environment", "pyproject", "default"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class FlagSpec:
    """One flag: its name, type (bool or float), default and a one-line help text."""

    name: str
    type: type
    default: bool | float
    help: str


FLAG_SPECS: dict[str, FlagSpec] = {
    spec.name: spec
    for spec in (
        FlagSpec("PHASE9_ENABLED", bool, False, "dreams: SPE proposes and runs cell variants after each run"),
        FlagSpec("PHASE10_ENABLED", bool, False, "profile the precision of every op (QFC precision profile)"),
        FlagSpec("QWAVE_EXEC_ON", bool, True, "allow the wave (JAX) path; off forces symbolic evaluation"),
        FlagSpec("QKD_ON", bool, False, "sign entangled beams with a key from a simulated BB84 exchange"),
        FlagSpec("SPE_AUTO_FUSE", bool, False, "apply the best fusion/repair when it improves qscore"),
        FlagSpec("VAULT_ALL", bool, False, "vault snapshots of every op's value, not only of values bound to names"),
        FlagSpec(
            "COST_THRESHOLD",
            float,
            2000.0,
            "exact results larger than this many SymPy nodes run on the grid instead (0: every field op does)",
        ),
    )
}
FLAG_NAMES: tuple[str, ...] = tuple(FLAG_SPECS)

# Non-flag settings that may share the `[tool.codexlab]` table; they are not flags and are skipped here.
CONFIG_KEYS: frozenset[str] = frozenset(
    {"home", "db_url", "executor", "max_concurrency", "latency_budget_ms", "policy_file", "data_roots"}
)


class Flags(Mapping[str, Any]):
    """Resolved flag values with where each came from; immutable, by attribute or by item."""

    __slots__ = ("_values", "_sources", "_pyproject")

    def __init__(
        self,
        values: Mapping[str, bool | float],
        sources: Mapping[str, FlagSource],
        pyproject: Path | None = None,
    ) -> None:
        object.__setattr__(self, "_values", {name: values[name] for name in FLAG_NAMES})
        object.__setattr__(self, "_sources", {name: sources[name] for name in FLAG_NAMES})
        object.__setattr__(self, "_pyproject", pyproject)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"`{name}` is not a flag{did_you_mean(name, FLAG_NAMES)}; flags: {_flag_list()}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Flags are immutable; use `flags.with_overrides(NAME=value)` for a changed copy")

    def __getitem__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        raise KeyError(f"`{name}` is not a flag{did_you_mean(name, FLAG_NAMES)}; flags: {_flag_list()}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Flags):
            return self._values == other._values
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Flags, (self._values, self._sources, self._pyproject))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Flags({inner})"

    @property
    def pyproject(self) -> Path | None:
        """The pyproject.toml that was read, if any."""
        return self._pyproject

    def source(self, name: str) -> FlagSource:
        """Where a flag's value came from: argument, environment, pyproject or default."""
        self[name]
        return self._sources[name]

    def as_dict(self) -> dict[str, bool | float]:
        """The values as a plain dict, in FLAG_NAMES order."""
        return dict(self._values)

    def with_overrides(self, **overrides: Any) -> Flags:
        """A copy with some flags set as arguments (validated like `resolve_flags` arguments)."""
        values = dict(self._values)
        sources = dict(self._sources)
        for key, raw in overrides.items():
            name = _flag_name(key, "argument")
            values[name] = _coerce(name, raw, f"argument `{key}`")
            sources[name] = "argument"
        return Flags(values, sources, self._pyproject)


def resolve_flags(
    overrides: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    start_dir: Path | str | None = None,
) -> Flags:
    """Resolve every flag: explicit arguments, then environment variables, then pyproject, then defaults."""
    env = os.environ if environ is None else environ
    arguments: dict[str, bool | float] = {}
    for key, raw in (overrides or {}).items():
        name = _flag_name(str(key), "argument")
        arguments[name] = _coerce(name, raw, f"argument `{key}`")
    pyproject = find_pyproject(Path.cwd() if start_dir is None else Path(start_dir))
    from_file = _read_pyproject(pyproject) if pyproject is not None else {}

    values: dict[str, bool | float] = {}
    sources: dict[str, FlagSource] = {}
    for name, spec in FLAG_SPECS.items():
        if name in arguments:
            values[name], sources[name] = arguments[name], "argument"
        elif name in env:
            values[name], sources[name] = _from_env(name, env[name]), "environment"
        elif name in from_file:
            values[name], sources[name] = from_file[name], "pyproject"
        else:
            values[name], sources[name] = spec.default, "default"
    return Flags(values, sources, pyproject)


def find_pyproject(start_dir: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start_dir`, or None."""
    here = start_dir.resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def format_flags_table(flags: Flags) -> str:
    """An aligned text table of every flag: name, value, source and help (for `codexlab flags`)."""
    rows = [("flag", "value", "source", "help")]
    for name in FLAG_NAMES:
        rows.append((name, _show(flags[name]), flags.source(name), FLAG_SPECS[name].help))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _show(value: bool | float) -> str:
    """Bools as `true`/`false` (the spelling the environment and TOML accept), numbers as repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _flag_list() -> str:
    return ", ".join(f"`{n}`" for n in FLAG_NAMES)


def _flag_name(key: str, where: str) -> str:
    """The canonical flag name for a key (exact or lowercase); unknown keys get a did-you-mean."""
    name = key.upper()
    if name in FLAG_SPECS:
        return name
    hint = did_you_mean(name, FLAG_NAMES)
    raise CodexConfigError(f"`{key}` ({where}) is not a flag{hint}; use one of {_flag_list()}.")


def _coerce(name: str, raw: object, where: str) -> bool | float:
    """Check an argument or pyproject value's type; strings are parsed as in the environment."""
    spec = FLAG_SPECS[name]
    if isinstance(raw, str):
        return _parse(name, raw, where)
    if spec.type is bool:
        if isinstance(raw, bool):
            return raw
        raise CodexConfigError(
            f"`{name}` ({where}) should be a boolean (true or false), got `{raw!r}`; pass True or False."
        )
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return _check_number(name, float(raw), where)
    raise CodexConfigError(f"`{name}` ({where}) should be a number >= 0, got `{raw!r}`; pass a number such as 2000.")


def _from_env(name: str, text: str) -> bool | float:
    """Parse the environment variable `name`."""
    return _parse(name, text, f"environment variable `{name}`")


def _parse(name: str, text: str, where: str) -> bool | float:
    """Parse flag text: booleans from 1/true/yes/on and 0/false/no/off, numbers with `float`."""
    spec = FLAG_SPECS[name]
    word = text.strip().lower()
    if spec.type is bool:
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise CodexConfigError(
            f"`{name}` ({where}) is `{text}`, which is not a boolean; use "
            f"{'/'.join(_TRUE)} for on or {'/'.join(_FALSE)} for off."
        )
    try:
        number = float(word)
    except ValueError:
        raise CodexConfigError(
            f"`{name}` ({where}) is `{text}`, which is not a number; use a number >= 0 such as 2000."
        ) from None
    return _check_number(name, number, where)


def _check_number(name: str, number: float, where: str) -> float:
    """Numbers must be finite and >= 0."""
    if not math.isfinite(number) or number < 0:
        raise CodexConfigError(f"`{name}` ({where}) is {number!r}, but it must be a finite number >= 0.")
    return number


def _read_pyproject(path: Path) -> dict[str, bool | float]:
    """The flags in `[tool.codexlab]` of one pyproject.toml (other known settings and subtables skipped)."""
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CodexConfigError(f"`{path}` is not valid TOML ({exc}); fix the file.") from None
    table = document.get("tool", {}).get("codexlab", {})
    if not isinstance(table, dict):
        raise CodexConfigError(f"`[tool.codexlab]` in `{path}` should be a table; fix the file.")
    found: dict[str, bool | float] = {}
    where = f"`[tool.codexlab]` in {path}"
    for key, raw in table.items():
        if isinstance(raw, dict) or key.lower() in CONFIG_KEYS:
            continue
        name = key.upper()
        if name not in FLAG_SPECS:
            hint = did_you_mean(name, FLAG_NAMES) or did_you_mean(key.lower(), CONFIG_KEYS)
            raise CodexConfigError(f"`{key}` in {where} is not a flag or setting{hint}; use one of {_flag_list()}.")
        found[name] = _coerce(name, raw, where)
    return found


def parse_flag_overrides(pairs: Sequence[str] | None) -> dict[str, str]:
    """`NAME=VALUE` pairs (the CLI's `--flag`) as a mapping; a pair without `=` is a `CodexValueError`."""
    out = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep:
            raise CodexValueError(f"`--flag {pair}` needs NAME=VALUE, e.g. `--flag SPE_AUTO_FUSE=1`.")
        out[name.strip()] = value.strip()
    return out
