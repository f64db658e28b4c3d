"""IPython magics: `%%codex` runs a CodexLang cell through `Lab.run`; `%codex …` inspects the Lab.

Load with `%load_ext codexlab` (or `%load_ext codexlab.magics`). One `Lab` per IPython session is
created on first use, at `CodexMagic.home` (default `$CODEXLAB_HOME` or `./.codexlab`).

Why the error handling looks the way it does: IPython's `UsageError` prints to stderr without an
`error` output, and then nbval/nbmake pass a notebook whose cell failed. So every failure of a magic
(a CodexLang error, a bad option) is raised as `CodexCellError`, a real exception whose
`_render_traceback_` shows one or two clean lines (plus the caret for a syntax error) instead of a
traceback through the engine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shlex
import textwrap
from typing import TYPE_CHECKING, Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Unicode, observe

from .errors import CodexError, CodexSyntaxError

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .runtime.lab import Lab
    from .runtime.run import Run

__all__ = ["CodexCellError", "CodexMagic", "load_ipython_extension"]


class CodexCellError(Exception):
    """A `%%codex` / `%codex` failure, shown as one or two clean lines instead of a traceback.

    `error` is the original exception (also the `__cause__`), `None` for a bad magic option.
    `line_offset` is the number of directive lines the magic prepended to the cell (`--precision`,
    `--seed`); line numbers are shown relative to the cell as the user typed it.
    """

    def __init__(self, message: str, error: BaseException | None = None, *, line_offset: int = 0) -> None:
        self.error = error
        self.line_offset = line_offset
        self.lines = self._lines(message, error, line_offset)
        super().__init__(self.lines[0])

    @staticmethod
    def _lines(message: str, error: BaseException | None, offset: int) -> list[str]:
        if not isinstance(error, CodexError):
            return [message]
        name = type(error).__name__
        line = error.line
        if line is None:
            return [f"{name}: {error}".splitlines()[0]] + [s for s in str(error).splitlines()[1:2]]
        if line <= offset:
            where = "in the directives made from --precision/--seed"
        else:
            where = f"line {line - offset}" + (f", column {error.column}" if error.column is not None else "")
        head = f"{name}: {error.message} ({where})"
        if isinstance(error, CodexSyntaxError) and error.source_line:
            return [head, error.caret]
        return [head]

    @property
    def line(self) -> int | None:
        """The line in the cell as typed (directives added by the magic not counted), if known."""
        line = getattr(self.error, "line", None)
        return None if line is None else line - self.line_offset

    def _render_traceback_(self) -> list[str]:
        """What IPython (and ipykernel's `error` output) shows instead of a traceback."""
        return list(self.lines)


class _ArgParser(argparse.ArgumentParser):
    """argparse that raises `CodexCellError` instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise CodexCellError(f"{self.prog}: {message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise CodexCellError(message or f"{self.prog}: exited with status {status}")


def _words(text: str) -> list[str]:
    """Shell-like words of a magic line; an unbalanced quote is a clean error."""
    try:
        return shlex.split(text, posix=True)
    except ValueError as err:
        raise CodexCellError(f"%codex: cannot split `{text}`: {err}") from None


def _unquote(text: str) -> str:
    """`"SELECT …"` → `SELECT …`: one quoted argument loses its quotes; anything else stays as typed."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        words = _words(text)
        if len(words) == 1:
            return words[0]
    return text


def _set_flag_words(words: list[str]) -> dict[str, str]:
    """`NAME=VALUE` words → {NAME: VALUE} (values parsed later, with the flags' own rules)."""
    overrides: dict[str, str] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise CodexCellError(f"%codex flags: `{word}` is not NAME=VALUE; e.g. `%codex flags QKD_ON=true`.")
        overrides[name.strip()] = value.strip()
    return overrides


@magics_class
class CodexMagic(Magics):
    """`%%codex` (run a CodexLang cell) and `%codex` (flags, replay, kg, status, lineage).

    Configurable with `%config CodexMagic.<trait> = …` or `c.CodexMagic.<trait>` in an IPython profile.
    """

    hud = Bool(
        True,
        help="Show the HUD for each %%codex run once codexlab has one; --no-hud turns it off for one cell.",
    ).tag(config=True)
    container = Unicode("default_container", help="Container a %%codex cell runs in unless -c is given.").tag(
        config=True
    )
    home = Unicode(
        None, allow_none=True, help="codexlab home of the session's Lab (None: $CODEXLAB_HOME or ./.codexlab)."
    ).tag(config=True)

    def __init__(self, shell: InteractiveShell | None = None, **kwargs: object) -> None:
        super().__init__(shell=shell, **kwargs)
        self._lab: Lab | None = None
        self._flag_overrides: dict[str, Any] = {}
        #: Whether the last %%codex cell asked for the HUD (`hud` and not `--no-hud`); the HUD reads this.
        self.hud_requested = False
        #: The last `Run` of a %%codex cell in this session.
        self.last_run: Any = None
        #: The code of the last `%%codex` cell (what `%codex debug` debugs by default).
        self.last_code: str | None = None
        #: The `%codex debug` panel shown last (its `debugger` is aborted when a new one starts).
        self.last_debug: Any = None
        #: The last `--profile` cell's `InstructionProfile`.
        self.last_profile: Any = None
        #: The newest live HUD per container; the next one continues its SQI/drift history.
        self._huds: dict[str, Any] = {}
        #: What codex bound in the user namespace, by name: a veto removes a binding only if it is still this.
        self._bound: dict[str, Any] = {}

    # ----------------------------------------------------------------------------------------- Lab

    @property
    def lab(self) -> Lab:
        """The session's Lab, created on first use with `home` and the flag overrides set so far."""
        if self._lab is None:
            from .runtime import Lab

            self._lab = Lab(home=self.home, flags=dict(self._flag_overrides) or None)
        return self._lab

    @observe("home")
    def _home_changed(self, change: dict[str, Any]) -> None:
        """A new home means a new Lab (opened lazily at the next use)."""
        if change["old"] != change["new"]:
            self._lab = None

    def _recreate_lab(self, overrides: dict[str, Any]) -> None:
        """Replace the session's Lab by one with these flag overrides, keeping the containers' values.

        The flags are read once when a Lab is made (its scheduler and pipeline depend on them), so a
        changed flag needs a new Lab; carrying the carrier memories over keeps the names defined by
        earlier cells usable in later ones.
        """
        from .runtime import Lab

        old = self._lab
        new = Lab(home=self.home, flags=dict(overrides) or None)
        if old is not None:
            new.adopt(old)
        self._lab = new
        self._flag_overrides = dict(overrides)

    def hud_wanted(self, no_hud: bool = False) -> bool:
        """Whether a cell's run should be shown in the HUD: the `hud` trait unless `--no-hud` was given."""
        return bool(self.hud) and not no_hud

    # --------------------------------------------------------------------------------------- %%codex

    @magic_arguments()
    @argument("-c", "--container", default=None, help="container to run in (default: CodexMagic.container)")
    @argument("--precision", default=None, help="precision format, same as an @precision line (fp32, bf16, …)")
    @argument("--seed", type=int, default=None, help="random seed, same as an @seed line")
    @argument("--no-hud", action="store_true", help="do not show the HUD for this cell")
    @argument("--precisions", action="store_true", help="profile every wave op in every precision format")
    @argument("--profile", action="store_true", help="print the instruction profile of the cell (like %%prun)")
    @argument("--json", action="store_true", help="print the run as JSON (as `codexlab run --json`)")
    @cell_magic("codex")  # type: ignore[arg-type]  # IPython types the marker's argument as Never
    def codex_cell(self, line: str, cell: str) -> Run | None:
        """Run the cell as CodexLang; bind its values in the notebook; return the `Run`.

        Every assigned name is bound in the user namespace (fields as xarray.DataArray); a cell that
        assigns a Python builtin or one of IPython's own names (`print`, `In`, `_1`, …) is refused before
        it runs. A name that SoulLaw vetoed is not bound — an older binding of it that codex made is
        removed, the user's own object never — and a line says which law and why. A bare expression's
        value stays in the `Run` (`run.values["_"]`): IPython's `_` is the cell's result. With --json
        the run is printed as JSON and nothing is returned.
        """
        try:
            args = parse_argstring(self.codex_cell, line)
        except UsageError as err:
            raise CodexCellError(f"%%codex: {err}") from None
        directives = []
        if args.precision is not None:
            directives.append(f"@precision {args.precision}")
        if args.seed is not None:
            directives.append(f"@seed {args.seed}")
        code = "\n".join([*directives, cell]) if directives else cell
        _refuse_notebook_names(code, self.shell, line_offset=len(directives))
        self.hud_requested = self.hud_wanted(args.no_hud)
        self.last_code = code
        container = _cell_container(cell) or args.container or self.container
        live = self._live_hud(container) if self.hud_requested and not args.json else None
        try:
            target = args.container or self.container
            profile = self.lab.profile(code, target, profile=args.precisions or None) if args.profile else None
            run = profile.run if profile is not None else self.lab.run(code, target, profile=args.precisions or None)
        except CodexError as err:
            if live is not None:
                live[0].close()
            raise CodexCellError(str(err), err, line_offset=len(directives)) from err
        except BaseException:
            if live is not None:
                live[0].close()
            raise
        assert run is not None  # a profile carries the run it profiled
        self.last_run = run
        self._bind(run)
        if profile is not None:
            self.last_profile = profile
            print(profile.table())
        if args.json:
            from .runtime.run import run_to_json

            print(json.dumps(run_to_json(run), indent=2, ensure_ascii=False, default=str))
            return None
        if live is not None:  # (a terminal shell has no HUD: the Run's text summary says it all)
            hud, handle = live
            hud.unfollow()
            handle.update(hud.update(run))  # the saved output (HTML fallback) shows the committed run
        return run

    def _live_hud(self, container: str) -> tuple[Any, Any] | None:
        """In a Jupyter frontend: (HUD, display handle) — shown before the cell runs, following the bus."""
        if not _widget_frontend(self.shell):
            return None
        from IPython.display import display

        from .hud import Hud

        hud = Hud(self.lab, container, history=self._huds.get(container)).follow()
        self._huds[container] = hud
        return hud, display(hud, display_id=True)

    def _bind(self, run: Run) -> None:
        """Push the run's values into the user namespace; report vetoed names and unbind the ones codex
        bound earlier (a name the user bound themselves keeps its object)."""
        from .runtime.values import Vetoed

        assert self.shell is not None
        user_ns = self.shell.user_ns
        bound: dict[str, Any] = {}
        for name, value in run.values.items():
            if name == _BARE_VALUE:
                continue  # IPython's `_` is the cell's result (binding it would freeze `_`, `__`, `___`)
            if not isinstance(value, Vetoed):
                bound[name] = value
                continue
            note = ""
            if name in self._bound and user_ns.get(name) is self._bound[name]:
                del user_ns[name]
                note = "; the value an earlier codex cell bound to it was removed"
            elif name in user_ns:
                note = f"; your own `{name}` is left as it was"
            self._bound.pop(name, None)
            print(f"codex: `{name}` was not bound: vetoed by `{value.law}`: {value.reason}{note}")
        if bound:
            self.shell.push(bound, interactive=True)
            self._bound.update(bound)

    # ---------------------------------------------------------------------------------------- %codex

    @no_var_expand
    @line_magic("codex")  # type: ignore[arg-type]  # IPython types the marker's argument as Never
    def codex_line(self, line: str) -> object:
        """Inspect and configure the session's Lab.

        %codex flags [NAME=VALUE ...]   show the feature flags; with NAME=VALUE, set them for this session
        %codex last                     the Run of the last %%codex cell (e.g. `run = %codex last`)
        %codex replay [REF] [-n N]      the newest N beams (default 10) of an eid, a run's GHX id or a beam's eid
                                        (no REF: the last cell's first eid, else its run)
        %codex kg "SPARQL"              run SPARQL over the knowledge graph; returns a polars DataFrame
        %codex status [CONTAINER]       CLOSED, OPEN or DRIFTING for a container (default: CodexMagic.container)
        %codex lineage BEAM             the ancestors of a beam, oldest first
        %codex rerun [CONTAINER]        re-run the cells that read a name redefined since they ran, in order
        %codex debug [VAR] [-b LINE] [-i IP] [-c CONTAINER]
                                        a debugger panel (step / continue, registers, heatmap) for the code
                                        in the string VAR, else the last %%codex cell's code
        """
        command, _, rest = line.strip().partition(" ")
        handlers = {
            "flags": self._flags,
            "last": self._last,
            "replay": self._replay,
            "kg": self._kg,
            "status": self._status,
            "lineage": self._lineage,
            "rerun": self._rerun,
            "debug": self._debug,
        }
        if command not in handlers:
            usage = textwrap.dedent((self.codex_line.__doc__ or "").split("\n\n", 1)[1]).strip()
            what = f"`{command}` is not a subcommand" if command else "a subcommand is needed"
            raise CodexCellError(f"%codex: {what}; use one of: {', '.join(handlers)}.\n{usage}")
        try:
            return handlers[command](rest)
        except CodexError as err:
            raise CodexCellError(str(err), err) from err

    def _flags(self, rest: str) -> None:
        """Show the flags, or set some (validated first; then the Lab is recreated with them)."""
        from .flags import format_flags_table

        overrides = _set_flag_words(_words(rest))
        if overrides:
            merged = {**self._flag_overrides, **overrides}
            self.lab.flags.with_overrides(**merged)  # raises CodexConfigError for a bad name or value
            self._recreate_lab(merged)
        print(format_flags_table(self.lab.flags))

    def _last(self, rest: str) -> Any:
        if rest.strip():
            raise CodexCellError(f"%codex last: takes no arguments, got `{rest.strip()}`.")
        if self.last_run is None:
            raise CodexCellError("%codex last: no %%codex cell has run in this session yet.")
        return self.last_run

    def _replay(self, rest: str) -> None:
        parser = _ArgParser(prog="%codex replay", add_help=False)
        parser.add_argument("ref", nargs="?", default=None)
        parser.add_argument("-n", type=int, default=10)
        args = parser.parse_args(_words(rest))
        if args.ref is None:
            last = self._last("")
            args.ref = last.eids[0] if last.eids else last.ghx_id
        beams = self.lab.replay(args.ref, n=args.n)
        if not beams:
            print(f"no beams for `{args.ref}`")
        for b in beams:
            eid = f" {b.eid}" if b.eid else ""
            print(f"{b.timestamp}  {b.stage:8s} {b.token:4s} {b.beam_id}{eid}")
        if beams and _widget_frontend(self.shell):
            from IPython.display import display

            from .hud.replay import ReplayWidget

            display(ReplayWidget(self.lab, args.ref, args.n))

    def _kg(self, rest: str) -> Any:
        """A polars DataFrame for SELECT and CONSTRUCT, a bool for ASK."""
        sparql = _unquote(rest)
        if not sparql:
            raise CodexCellError('%codex kg: give a SPARQL query, e.g. %codex kg "SELECT * WHERE { ?s ?p ?o } LIMIT 5"')
        return self.lab.kg.query(sparql, frame=True)

    def _status(self, rest: str) -> None:
        parser = _ArgParser(prog="%codex status", add_help=False)
        parser.add_argument("container", nargs="?", default=None)
        args = parser.parse_args(_words(rest))
        print(self.lab.status(args.container or self.container))

    def _lineage(self, rest: str) -> None:
        parser = _ArgParser(prog="%codex lineage", add_help=False)
        parser.add_argument("beam")
        args = parser.parse_args(_words(rest))
        beams = self.lab.lineage(args.beam)
        if not beams:
            print(f"no ancestors for `{args.beam}`")
        for b in beams:
            print(f"{b.timestamp}  {b.stage:8s} {b.token:4s} {b.beam_id}")

    def _debug(self, rest: str) -> Any:
        """A `DebugPanel` over `lab.debug(code)`; the previous panel's run is abandoned first."""
        parser = _ArgParser(prog="%codex debug", add_help=False)
        parser.add_argument("var", nargs="?", default=None)
        parser.add_argument("-b", "--break", dest="lines", type=int, action="append", default=[])
        parser.add_argument("-i", "--instruction", dest="ips", type=int, action="append", default=[])
        parser.add_argument("-c", "--container", default=None)
        args = parser.parse_args(_words(rest))
        if args.var is not None:
            code = self.shell.user_ns.get(args.var) if self.shell is not None else None
            if not isinstance(code, str):
                raise CodexCellError(f"%codex debug: `{args.var}` is not a string of CodexLang code in the notebook.")
        elif self.last_code is not None:
            code = self.last_code
        else:
            raise CodexCellError("%codex debug: no %%codex cell has run yet; pass the name of a string of code.")
        from .hud.debug_panel import DebugPanel

        if self.last_debug is not None:
            self.last_debug.debugger.abort()
        debugger = self.lab.debug(code, args.container or self.container, breakpoints=args.lines, instructions=args.ips)
        self.last_debug = DebugPanel(debugger)
        return self.last_debug.widget

    def _rerun(self, rest: str) -> None:
        """Re-run the container's stale cells in the order they first ran; bind their values."""
        parser = _ArgParser(prog="%codex rerun", add_help=False)
        parser.add_argument("container", nargs="?", default=None)
        args = parser.parse_args(_words(rest))
        container = args.container or self.container
        stale = self.lab.stale_cells(container)
        if not stale:
            print(f"no stale cells in container `{container}`")
            return
        for run in self.lab.rerun_stale(container):
            self._bind(run)
            changed = ", ".join(f"`{n}`" for n in stale.get(run.cell_id, []))
            why = f" (it read {changed})" if changed else " (an input it read was re-run)"
            print(f"re-ran {run.cell_id}{why}: {', '.join(n for n in run.values if n != '_') or 'no names'}")
            self.last_run = run


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """`%load_ext codexlab`: register `%%codex` and `%codex` (once per session), and start importing
    what the first cell needs in the background (`runtime.preload`)."""
    if isinstance(ipython.magics_manager.registry.get("CodexMagic"), CodexMagic):
        return
    ipython.register_magics(CodexMagic(ipython))
    from .preload import start_preload

    start_preload()


def _cell_container(cell: str) -> str | None:
    """The container an `@container NAME` line of the cell selects, if any."""
    match = re.search(r"^\s*@container\s+(\S+)", cell, re.MULTILINE)
    return match.group(1) if match else None


# ------------------------------------------------------------------------------- notebook names

#: The name a bare expression's value has in a `Run` (not bound in the notebook).
_BARE_VALUE = "_"
#: IPython's history names: `_`, `__`, `___`, `_i`, `_ii`, `_iii`, `_<n>`, `_i<n>`, `_ih`, `_oh`, `_dh`.
_IPYTHON_HISTORY = re.compile(r"_{1,3}|_i{1,3}|_i?\d+|_[iod]h")
_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "display"})


def _refuse_notebook_names(code: str, shell: Any, *, line_offset: int = 0) -> None:
    """Refuse, before anything runs, a cell that assigns a name Python or IPython owns in the notebook.

    A cell that does not parse is left to `Lab.run`, which reports the syntax error.
    """
    from .errors import CodexNameError
    from .lang.parser import parse

    try:
        tree = parse(code)
    except CodexError:
        return
    for statement in _assignments(tree.statements):
        owner = _owner(statement.name, shell)
        if owner is None:
            continue
        name = statement.name
        error = CodexNameError(
            f"`{name}` is {owner}; binding it in the notebook would shadow it for every later cell, so the cell "
            f"was not run: rename it, e.g. `{_another_name(name)}`",
            line=statement.line or None,
            column=statement.column or None,
        )
        raise CodexCellError(str(error), error, line_offset=line_offset)


def _another_name(name: str) -> str:
    """A name like `name` that no one else owns: `print` → `print_`, `_3` → `v3_`, `__builtins__` → `builtins_`."""
    base = name.strip("_") or "value"
    return f"{'v' if base[0].isdigit() else ''}{base}_"


def _assignments(statements: Any) -> Any:
    """Every `name = …` and `name := …` of a scroll, loop bodies included, in source order."""
    from .lang import ast

    for statement in statements:
        if isinstance(statement, ast.Assignment | ast.Definition):
            yield statement
        elif isinstance(statement, ast.Loop):
            yield from _assignments(statement.body)
        elif isinstance(statement, ast.GlyphRecord) and isinstance(statement.value, ast.Loop):
            yield from _assignments(statement.value.body)


def _owner(name: str, shell: Any) -> str | None:
    """Who owns `name` in a notebook (`a Python builtin`, …), or None when codex may bind it."""
    import builtins

    if name.startswith("__") and name.endswith("__"):
        return "a Python special name"
    if name in _IPYTHON_NAMES or _IPYTHON_HISTORY.fullmatch(name) or name in getattr(shell, "user_ns_hidden", {}):
        return "one of IPython's own names"
    if hasattr(builtins, name):
        return "a Python builtin"
    return None


def _widget_frontend(shell: Any) -> bool:
    """Whether widgets can render: a Jupyter kernel (not a terminal shell) with anywidget installed."""
    return type(shell).__name__ == "ZMQInteractiveShell" and importlib.util.find_spec("anywidget") is not None
