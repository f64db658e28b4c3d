"""`%%codex` and `%codex` in a real IPython shell: bindings, vetoes, JSON, errors, line magics, config."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
import xarray as xr
from IPython.core.interactiveshell import InteractiveShell

from codexlab.errors import CodexConfigError, CodexNameError, CodexSyntaxError
from codexlab.magics import CodexCellError, CodexMagic, load_ipython_extension
from codexlab.runtime.display import run_html, run_text
from codexlab.runtime.run import Run
from codexlab.runtime.values import Vetoed

VETO_CELL = "@grid x:-1..1:8\nf0 := x - x\nQ = log(f0)\nP = x*2\n"


@pytest.fixture(scope="module")
def ip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    """One shell with the extension loaded and a fresh Lab at a temporary CODEXLAB_HOME."""
    shell = InteractiveShell.instance()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CODEXLAB_HOME", str(tmp_path_factory.mktemp("codexhome")))
        # A fresh magic per module, so the Lab opens at this module's home.
        shell.register_magics(CodexMagic(shell))
        yield shell


@pytest.fixture(scope="module")
def veto_run(ip: InteractiveShell) -> tuple[Any, str]:
    """The veto cell, run once with `Q` bound beforehand; returns (ExecutionResult, printed output)."""
    ip.user_ns["Q"] = "stale"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = ip.run_cell(f"%%codex --seed 3\n{VETO_CELL}")
    return result, out.getvalue()


def magic(ip: InteractiveShell) -> CodexMagic:
    found = ip.magics_manager.registry["CodexMagic"]
    assert isinstance(found, CodexMagic)
    return found


def test_values_bound_as_dataarrays_and_vetoed_name_unbound(ip: InteractiveShell, veto_run: tuple[Any, str]) -> None:
    result, output = veto_run
    assert result.error_in_exec is None
    assert isinstance(result.result, Run)
    assert isinstance(ip.user_ns["P"], xr.DataArray)
    assert ip.user_ns["P"].shape == (8,)
    assert ip.user_ns["Q"] == "stale"  # the user's own object: a veto never removes it
    assert "`Q` was not bound: vetoed by `finite`" in output and "your own `Q` is left as it was" in output
    assert "NaN/Inf" in output
    assert magic(ip).last_run is result.result


def test_display_html_and_text(veto_run: tuple[Any, str]) -> None:
    run = veto_run[0].result
    page = run_html(run)
    assert len(page.encode()) < 20_000
    ops = sum(1 for b in run.beams if b.stage == "symbolic")
    for needle in ("<code>P</code>", "finite", "NaN/Inf", run.ghx_id, "qscores", f"symbolic {ops}"):
        assert needle in page
    text = run_text(run)
    assert "Q: vetoed by `finite`" in text and "P: field 8 float64, min -2, max 1.5" in text
    assert f"GHX replay id: {run.ghx_id}" in text


def test_display_escapes_everything() -> None:
    evil = "<script>alert(1)</script>"
    run = Run(
        run_id="r<1>",
        cell_id="c&1",
        container_id=evil,
        values={"a<b": Vetoed(name="a<b", law="law<x>", reason=evil, beam_id="b1"), "n": 2.5},
        eids=["e<1>"],
    )
    page = run_html(run)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "a&lt;b" in page and "law&lt;x&gt;" in page and "r&lt;1&gt;" in page and "e&lt;1&gt;" in page
    assert "n: number 2.5" in run_text(run)


def test_json_output_parses(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    result = ip.run_cell("%%codex --json\n@grid x:0..1:4\nJ = x + 1\n")
    assert result.error_in_exec is None and result.result is None
    data = json.loads(capsys.readouterr().out)
    assert data["values"]["J"]["kind"] == "field" and data["values"]["J"]["shape"] == [4]
    assert data["ghx_id"] == data["run_id"]
    assert isinstance(ip.user_ns["J"], xr.DataArray)


def test_syntax_error_is_a_short_real_error_with_caret(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ip.run_cell("%%codex --precision fp32\n@grid x:0..1:4\nA = x +* 1\n")
    err = result.error_in_exec
    assert isinstance(err, CodexCellError) and isinstance(err.error, CodexSyntaxError)
    assert err.line == 2  # the line as typed, not counting the @precision line the magic added
    shown = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(shown) <= 3, shown
    assert "Traceback" not in "\n".join(shown)
    assert shown[0].startswith("CodexSyntaxError:") and "(line 2, column 8)" in shown[0]
    assert shown[-1].strip() == "^" and shown[-1].index("^") == 7
    assert "A" not in ip.user_ns


def test_bad_option_is_a_real_error(ip: InteractiveShell) -> None:
    result = ip.run_cell("%%codex --bogus\nB = 1\n")
    assert isinstance(result.error_in_exec, CodexCellError)
    result = ip.run_cell("%%codex --precision fp7\n@grid x:0..1:4\nB = x\n")
    assert isinstance(result.error_in_exec, CodexCellError)
    assert "--precision/--seed" in str(result.error_in_exec) or "fp7" in str(result.error_in_exec)


def test_line_magics(ip: InteractiveShell, veto_run: tuple[Any, str], capsys: pytest.CaptureFixture[str]) -> None:
    run = veto_run[0].result
    capsys.readouterr()
    ip.run_cell(f"%codex replay {run.ghx_id} -n 2")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("beam_" in line for line in lines)

    ip.run_cell("%codex status")
    assert capsys.readouterr().out.startswith("default_container: ")

    ip.run_cell(f"%codex lineage {run.beams[-1].beam_id}")
    assert capsys.readouterr().out.strip()

    frame = ip.run_line_magic("codex", 'kg "SELECT (COUNT(?v) AS ?n) WHERE { ?v a prov:Entity }"')
    assert isinstance(frame, pl.DataFrame) and frame["n"][0] >= 1

    result = ip.run_cell("%codex nonsense")
    assert isinstance(result.error_in_exec, CodexCellError)
    assert "flags, last, replay, kg, status, lineage" in str(capsys.readouterr().out)


def test_last_and_replay_without_a_reference(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    cell = "%%codex --seed 1\n@grid x:-1..1:16\na := exp(-(x-0.5)^2)\nb := exp(-(x+0.5)^2)\nP = a ↔ b\n"
    run = ip.run_cell(cell).result
    assert ip.run_line_magic("codex", "last") is run and run.eids
    capsys.readouterr()
    ip.run_cell("%codex replay -n 50")
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(run.eids[0] in line for line in lines)  # the last cell's first eid
    assert len(lines) == len(magic(ip).lab.replay(run.eids[0], n=50))
    assert isinstance(ip.run_cell("%codex last now").error_in_exec, CodexCellError)


def test_flags_show_and_set(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    m = magic(ip)
    assert ip.run_cell("%%codex\nJ = 3\n").error_in_exec is None
    capsys.readouterr()
    ip.run_cell("%codex flags")
    assert "COST_THRESHOLD" in capsys.readouterr().out
    before = m.lab
    ip.run_cell("%codex flags COST_THRESHOLD=75")
    out = capsys.readouterr().out
    assert m.lab is not before and m.lab.flags.COST_THRESHOLD == 75.0
    assert any(line.startswith("COST_THRESHOLD") and "75.0" in line and "argument" in line for line in out.splitlines())
    # the container's earlier values survive the new Lab
    assert ip.run_cell("%%codex\nK = J * 2\n").error_in_exec is None
    result = ip.run_cell("%codex flags QKD_ONN=true")
    assert isinstance(result.error_in_exec, CodexCellError)
    assert isinstance(result.error_in_exec.error, CodexConfigError)
    assert m.lab.flags.COST_THRESHOLD == 75.0


def test_config_traits(ip: InteractiveShell) -> None:
    m = magic(ip)
    try:
        ip.run_cell("%config CodexMagic.hud = False")
        assert m.hud is False and not m.hud_wanted()
        ip.run_cell("%config CodexMagic.hud = True")
        assert m.hud_wanted() and not m.hud_wanted(no_hud=True)
        ip.run_cell("%%codex --no-hud\nH = 1\n")
        assert m.hud_requested is False
        ip.run_cell("%config CodexMagic.container = 'other'")
        assert ip.run_cell("%%codex\nH2 = 2\n").result.container_id == "other"
        assert ip.run_cell("%%codex -c third\nH3 = 3\n").result.container_id == "third"
    finally:
        m.hud = True
        m.container = "default_container"


def test_load_extension_registers_once(ip: InteractiveShell) -> None:
    before = magic(ip)
    load_ipython_extension(ip)
    ip.run_line_magic("load_ext", "codexlab.magics")
    assert magic(ip) is before
    assert "codex" in ip.magics_manager.magics["cell"] and "codex" in ip.magics_manager.magics["line"]


def test_load_ext_codexlab_is_the_documented_spelling(ip: InteractiveShell) -> None:
    before = magic(ip)
    ip.run_line_magic("load_ext", "codexlab")
    assert magic(ip) is before
    assert "codex" in ip.magics_manager.magics["cell"]


def test_in_a_widget_frontend_the_hud_is_shown_before_the_cell_runs_and_follows_it(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("anywidget")
    import IPython.display

    from codexlab import magics
    from codexlab.hud import Hud

    shown: list[Any] = []
    monkeypatch.setattr(magics, "_widget_frontend", lambda shell: True)
    updated: list[Any] = []

    class Handle:
        def update(self, obj: Any) -> None:
            updated.append(obj)

    def display(obj: Any, **kw: Any) -> Handle:
        shown.append(obj)
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    m = magic(ip)
    m.lab.live_interval_s = 0.0
    seen: list[bool] = []
    original_follow = Hud.follow

    def follow(self: Hud) -> Hud:  # record the panels' `live` flag as the HUD sees each update
        self.observe(lambda change: seen.append(change["new"]["live"]), names="panels")
        return original_follow(self)

    monkeypatch.setattr(Hud, "follow", follow)
    loop = "⟲ until ‖u - v‖ < 1e-30 max 20 { v = u; u = relax(u) }"
    cell = f"%%codex -c livehud\n@grid x:-1..1:16\nu := exp(-x^2)\n{loop}\n"
    run = ip.run_cell(cell).result
    (hud,) = shown
    assert updated == [hud]  # the display was refreshed with the committed run
    assert isinstance(hud, Hud) and True in seen and seen[-1] is False
    assert hud.panels["run_id"] == run.run_id and [b["id"] for b in hud.panels["timeline"]] == run.beam_ids
    assert hud._unsubscribe is None  # it stopped following when the cell ended
    shown.clear()
    failed = ip.run_cell("%%codex -c livehud\nA = x +* 1\n")
    assert isinstance(failed.error_in_exec, CodexCellError) and shown and shown[0].comm is None  # closed


@pytest.mark.parametrize(
    ("cell", "name", "owner"),
    [
        ("print = 3", "print", "a Python builtin"),
        ("@grid x:0..1:4\nu = x\n⟲ 2 { len = 1 }", "len", "a Python builtin"),
        ("__builtins__ := 6", "__builtins__", "a Python special name"),
        ("get_ipython = 1", "get_ipython", "one of IPython's own names"),
        ("In = 2", "In", "one of IPython's own names"),
        ("Out := 2", "Out", "one of IPython's own names"),
        ("exit = 0", "exit", "one of IPython's own names"),
        ("_i2 = 1", "_i2", "one of IPython's own names"),
        ("_7 = 1", "_7", "one of IPython's own names"),
    ],
)
def test_python_and_ipython_names_are_refused_before_the_cell_runs(
    ip: InteractiveShell, cell: str, name: str, owner: str
) -> None:
    m = magic(ip)
    before = len(m.lab.store.run_ids())
    namespace = {k: v for k, v in ip.user_ns.items() if k not in ("_", "__", "___") and not k.startswith("_i")}
    result = ip.run_cell(f"%%codex\nkeep = 1\n{cell}\n")
    err = result.error_in_exec
    assert isinstance(err, CodexCellError) and isinstance(err.error, CodexNameError)
    assert f"`{name}` is {owner}" in str(err) and "rename it, e.g. `" in str(err)
    assert err.line is not None and err.line >= 2
    assert len(m.lab.store.run_ids()) == before  # nothing ran, nothing was stored
    for key, value in namespace.items():
        assert ip.user_ns.get(key) is value, key
    assert ip.run_cell("print('still works')").error_in_exec is None


def test_a_veto_removes_only_what_codex_bound(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy

    ip.user_ns["np"] = numpy
    assert ip.run_cell("%%codex\nnp = log(0.0)\n").error_in_exec is None
    assert ip.user_ns["np"] is numpy  # the user's module survives the veto
    assert "your own `np` is left as it was" in capsys.readouterr().out
    assert ip.run_cell("%%codex\nV1 = 2\n").error_in_exec is None
    assert ip.user_ns["V1"] == 2
    assert ip.run_cell("%%codex\nV1 = log(0.0)\n").error_in_exec is None
    assert "V1" not in ip.user_ns  # codex's own earlier value is taken back
    assert "the value an earlier codex cell bound to it was removed" in capsys.readouterr().out
    assert ip.run_cell("%%codex\nV2 = 3\n").error_in_exec is None
    ip.run_cell("V2 = 'mine now'")
    assert ip.run_cell("%%codex\nV2 = log(0.0)\n").error_in_exec is None
    assert ip.user_ns["V2"] == "mine now"  # rebound by the user since: theirs now


def test_a_bare_expression_leaves_ipythons_underscore_alone(ip: InteractiveShell) -> None:
    result = ip.run_cell("%%codex\n2 + 3\n")
    assert result.error_in_exec is None and result.result.values["_"] == 5
    assert ip.user_ns["_"] is result.result  # IPython's `_` is the cell's result, as for any cell
    ip.run_cell("41 + 1")
    assert ip.user_ns["_"] == 42  # and IPython keeps updating it
