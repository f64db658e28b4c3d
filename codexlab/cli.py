"""The `codexlab` command: run scrolls, show flags, export schemas, replay and verify beams."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import CodexError
from .flags import parse_flag_overrides
from .qpu.cli import add_sheet_arguments, run_sheet_command

__all__ = ["main"]


def _cmd_run(args: argparse.Namespace) -> int:
    from .lang.parser import parse
    from .lang.source import read_source
    from .photon.adapter import codex_to_photon_ast
    from .photon.ir import PExpr, PNode, walk
    from .photon.printing import to_unicode
    from .runtime import Lab
    from .runtime.run import describe_value, run_to_json

    path = Path(args.file)
    if not path.is_file():
        raise CodexError(f"`{path}` is not a file; pass the path of a `.codex` scroll.")
    code = read_source(path)
    lab = Lab(home=args.home, flags=parse_flag_overrides(args.flag))
    lab.progress = not (args.quiet or args.json)
    cells = _cells(code)
    if len(cells) > 1 and not args.json:
        return _run_cells(lab, path, cells, args.container, args.profile)
    profile = lab.profile(code, container=args.container) if args.profile else None
    run = profile.run if profile is not None else lab.run(code, container=args.container)
    assert run is not None  # a profile carries the run it profiled
    if args.json:
        print(json.dumps(run_to_json(run), indent=2, ensure_ascii=False, default=str))
        return 0
    program = codex_to_photon_ast(parse(code))
    print(f"scroll {path} · {len(run.statements)} statements")
    for text, stmt in zip(run.statements, program.statements, strict=False):
        print(f"  {text}")
        expr = getattr(stmt, "expr", None)
        if isinstance(expr, PNode):
            nodes = sum(1 for _ in walk(expr))
            label = "" if isinstance(stmt, PExpr) else ""
            print(f"      Photon IR{label}: {to_unicode(expr)}   [{expr.id[:12]} · {nodes} nodes]")
    print()
    print("values:")
    for name, value in run.values.items():
        print(f"  {name} = {describe_value(value)}")
    for name, d in run.derivations.items():
        print(f"derivation of {name}:")
        for line in str(d).splitlines():
            print(f"  {line}")
    stages: dict[str, int] = {}
    for b in run.beams:
        stages[b.stage] = stages.get(b.stage, 0) + 1
    print(f"beams: {len(run.beams)} persisted ({', '.join(f'{k} {v}' for k, v in sorted(stages.items()))})")
    for b in run.beams:
        if b.stage in ("ingest", "collapse", "entangle", "loop"):
            print(f"  {b.stage:8s} {b.token:4s} {b.beam_id}")
    for eid in run.eids:
        print(f"eid: {eid}")
    print(f"GHX replay id: {run.ghx_id}")
    if run.qfc_id:
        print(f"QFC id: {run.qfc_id}")
    _print_governance(lab, run)
    if profile is not None:
        print()
        print(profile.table())
    return 0


def _cells(code: str) -> list[str]:
    """A scroll split into notebook-style cells at lines starting with `# %%` (one cell when none)."""
    cells: list[str] = []
    current: list[str] = []
    for line in code.splitlines(keepends=True):
        if line.lstrip().startswith("# %%") and current:
            cells.append("".join(current))
            current = []
        current.append(line)
    cells.append("".join(current))
    return [c for c in cells if c.strip()]


def _run_cells(lab: Any, path: Path, cells: list[str], container: str | None, profile: bool = False) -> int:
    """Run each `# %%` cell in order, like a notebook; show each cell's values (and instruction profile)
    and mutations, then all mutations of the containers used."""
    from .runtime.run import describe_value

    print(f"scroll {path} · {len(cells)} cells")
    containers: list[str] = []
    for k, cell in enumerate(cells, 1):
        title = cell.splitlines()[0].lstrip()[4:].strip() if cell.lstrip().startswith("# %%") else ""
        profiled = lab.profile(cell, container, cell_id=f"cell_{k:02d}") if profile else None
        run = profiled.run if profiled is not None else lab.run(cell, container=container, cell_id=f"cell_{k:02d}")
        containers.append(run.container_id)
        container = run.container_id  # later cells build on this one, as in a notebook
        print(f"[{k}] {title}".rstrip())
        for name, value in run.values.items():
            print(f"    {name} = {describe_value(value)}")
        for mid in run.mutations:
            print(f"    mutation {mid}")
        if profiled is not None:
            print("\n".join(f"    {line}" for line in profiled.table().splitlines()))
    for cid in dict.fromkeys(containers):
        mutations = lab.mutations(cid)
        if mutations:
            print(f"mutations of container {cid}:")
        for m in mutations:
            verdict = "accepted" if m.accepted else "rejected" if m.qscore_after is not None else "proposed"
            change = f"{m.original.glyph} → {m.mutated.glyph}"
            scores = "" if m.qscore_after is None else f", qscore {m.qscore_before:.3f} → {m.qscore_after:.3f}"
            print(f"  {m.mutation_id}  {m.metadata.reason:6s} {verdict:8s} {change}{scores}")
    return 0


def _print_governance(lab: Any, run: Any) -> None:
    """qscores per value, each veto with its law and reason, the container status and one SPARQL answer."""
    from .runtime.values import Vetoed

    named = {b.beam_id: b.result.get("name") for b in run.beams}
    scored = [s for s in run.scores if s.qscore is not None]
    if scored:
        print("qscores:")
        for s in scored:
            label = named.get(s.beam_id) or next((b.token for b in run.beams if b.beam_id == s.beam_id), "?")
            drift = "" if s.drift is None else f", drift {s.drift:.3g}"
            print(f"  {label:6s} qscore {s.qscore:.3f} ({s.rating}{drift})")
    for name, value in run.values.items():
        if isinstance(value, Vetoed):
            print(f"vetoed: {name} by `{value.law}`: {value.reason}")
    print(f"status: {lab.status(run.container_id)}".splitlines()[0])
    rows = lab.kg.query(
        f"SELECT (COUNT(DISTINCT ?v) AS ?n) WHERE {{ GRAPH <{_run_graph(run.run_id)}> {{ ?v a prov:Entity }} }}"
    )
    print(f"SPARQL: {rows[0]['n']} approved values in this run's graph (vetoed ones are in none)")


def _run_graph(run_id: str) -> str:
    from .kg.vocab import run_iri

    return run_iri(run_id).value


def _cmd_flags(args: argparse.Namespace) -> int:
    from .flags import format_flags_table, resolve_flags

    print(format_flags_table(resolve_flags()))
    return 0


def _cmd_schemas(args: argparse.Namespace) -> int:
    from .contracts import export_schemas

    written = export_schemas(Path(args.dest))
    print(f"wrote {len(written)} schemas into {args.dest}")
    for p in written:
        print(f"  {p}")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from .runtime import Lab

    lab = Lab(home=args.home)
    for b in lab.replay(args.ref, n=args.n):
        eid = f" {b.eid}" if b.eid else ""
        print(f"{b.timestamp}  {b.stage:8s} {b.token:4s} {b.beam_id}{eid}")
    return 0


def _cmd_qfc(args: argparse.Namespace) -> int:
    from .runtime import Lab

    lab = Lab(home=args.home)
    updates = lab.qfc(args.qfc_id)
    if args.json:
        print(json.dumps([u.model_dump(mode="json") for u in updates], indent=2, ensure_ascii=False, default=str))
        return 0
    for u in updates:
        body = {k: v for k, v in u.payload.items() if k != "kind"}
        sizes = ", ".join(f"{k} {len(v)}" for k, v in body.items() if isinstance(v, (list, dict)))
        print(f"{u.kind:22s} {u.source}  {sizes}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.home)
    return 0


def _cmd_lineage(args: argparse.Namespace) -> int:
    from .runtime import Lab

    lab = Lab(home=args.home)
    for b in lab.lineage(args.beam, direction=args.direction):
        print(f"{b.timestamp}  {b.stage:8s} {b.token:4s} {b.beam_id}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from .runtime.integrity import QKD_FIELD, verify_entangled_signatures
    from .store import open_store

    store = open_store(None, home=_home(args).expanduser().resolve())
    report = store.verify(args.run)  # an unknown `--run` is a StoreError (exit 2)
    runs = (
        [args.run]
        if args.run
        else list(dict.fromkeys(r["sheet_run_id"] for r in store.rows("beams") if QKD_FIELD in r.get("result", {})))
    )
    signed = [b for run in runs for b in store.beams_for_run(run) if QKD_FIELD in b.result]
    mismatched = verify_entangled_signatures(signed)
    problems = report.problems + [f"simulated QKD record: {m}" for m in mismatched]
    if problems:
        print(f"integrity broken: {problems[0]}")
        for p in problems[1:]:
            print(f"  also: {p}")
        return 1
    what = f"run `{args.run}`" if args.run else f"{report.runs} run{'s' if report.runs != 1 else ''}"
    print(
        f"intact: {what}, {report.beams} beams and {report.anchors} anchors checked with chain key "
        f"`{report.key_id}` ({report.key_source})"
    )
    if report.legacy_runs:
        print(
            f"  {report.legacy_runs} run(s) predate anchors and were sealed as found when the store was upgraded: "
            "deleting or re-hashing them is detected, but their scores are not in their beams' hashes."
        )
    if not report.witnessed:
        print(
            "  this home has no head witness for this store: had the newest runs been deleted together with "
            "their anchors, it could not tell."
        )
    if signed:
        print(
            f"  {len(signed)} QKD signatures verify against their simulated BB84 keys (a simulation: the keys "
            "re-derive from the seeds stored beside them, so this is not tamper evidence; the sealed anchors are)."
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `codexlab`."""
    parser = argparse.ArgumentParser(prog="codexlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run a .codex scroll through the pipeline")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the run as JSON")
    p.add_argument("--container", "-c", default=None)
    p.add_argument("--home", default=None, help="codexlab home (default $CODEXLAB_HOME or ./.codexlab)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.add_argument(
        "--profile", action="store_true", help="print the instruction profile (time, FLOPs, bytes per instruction)"
    )
    p.add_argument("--flag", action="append", metavar="NAME=VALUE", help="override a feature flag (repeatable)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("flags", help="show each feature flag, its value and where it came from")
    p.set_defaults(func=_cmd_flags)

    p = sub.add_parser("schemas", help="export the payload JSON Schemas")
    p.add_argument("--dest", default="data/schemas")
    p.set_defaults(func=_cmd_schemas)

    p = sub.add_parser("replay", help="the newest beams of an eid, a run (GHX id) or a beam (its eid or run)")
    p.add_argument("ref")
    p.add_argument("-n", type=int, default=10)
    p.add_argument("--home", default=None)
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("qfc", help="the QFC payloads (HUD/WebSocket envelopes) of a run")
    p.add_argument("qfc_id", help="a `QFC id:` as `codexlab run` and `codexlab demo` print it")
    p.add_argument("--json", action="store_true", help="print the envelopes as JSON")
    p.add_argument("--home", default=None)
    p.set_defaults(func=_cmd_qfc)

    p = sub.add_parser("demo", help="the end-to-end demo: Photon → QWave → beams → SQI/SoulLaw → SPE → KG")
    p.add_argument("--home", default=None, help="codexlab home (default $CODEXLAB_HOME or ./.codexlab)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("lineage", help="ancestors or descendants of a beam")
    p.add_argument("beam")
    p.add_argument("--direction", choices=("ancestors", "descendants"), default="ancestors")
    p.add_argument("--home", default=None)
    p.set_defaults(func=_cmd_lineage)

    p = sub.add_parser(
        "verify", help="check every beam's hash, each run against its sealed anchor, and the anchor chain"
    )
    p.add_argument("--run", default=None, help="one run id (default: every run); an unknown id is an error")
    p.add_argument("--home", default=None)
    p.set_defaults(func=_cmd_verify)

    sheet = sub.add_parser("sheet", help="run a sheet of cells as a dependency graph").add_subparsers(
        dest="sheet_command", required=True
    )
    p = sheet.add_parser("run", help="run a .codex sheet (`# %% id` cells) or a notebook's %%codex cells")
    add_sheet_arguments(p)
    p.set_defaults(func=run_sheet_command)
    p = sub.add_parser("serve", help="the live service: dashboard, WebSocket glyph stream and REST API")
    p.add_argument("--port", type=int, default=None, help="port (default 8888, or the next free one)")
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--home", default=None, help="codexlab home (default $CODEXLAB_HOME or ./.codexlab)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="CLASS.TRAIT=VALUE",
        help="any Jupyter server or "
        "service option, e.g. `CodexLabApp.workers=4` or `ServerApp.base_url=/lab/` (repeatable)",
    )
    p.set_defaults(func=_cmd_serve)

    kg = sub.add_parser("kg", help="query or export the PROV-O knowledge graph").add_subparsers(
        dest="kg_command", required=True
    )
    p = kg.add_parser("query", help="run SPARQL over the union of the run graphs (SERVICE is refused)")
    p.add_argument("sparql")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds before the query is stopped (default 30)")
    p.add_argument("--home", default=None)
    p.set_defaults(func=_cmd_kg_query)
    p = kg.add_parser("rebuild", help="make the graph again from the beam store (verified runs only)")
    p.add_argument("--home", default=None)
    p.set_defaults(func=_cmd_kg_rebuild)
    p = kg.add_parser("sync", help="export every run the graph is missing (queued while it was locked)")
    p.add_argument("--home", default=None)
    p.set_defaults(func=_cmd_kg_sync)
    p = kg.add_parser("export", help="serialize the graph")
    p.add_argument("--format", default="turtle", help="turtle, ntriples, trig, nquads or jsonld")
    p.add_argument("--out", default=None, help="a file (default: print)")
    p.add_argument("--home", default=None)
    p.set_defaults(func=_cmd_kg_export)
    return parser


def _cmd_serve(args: argparse.Namespace) -> int:
    """Start a Jupyter server with only the codexlab extension; it prints the URL with its token."""
    try:
        from .server.app import CodexLabApp
    except ImportError as err:
        from .errors import BackendError

        raise BackendError(
            f"`codexlab serve` needs jupyter_server ({err}); install it with `pip install 'codexlab[jupyter]'`."
        ) from None
    argv = [f"--ServerApp.ip={args.ip}", "--ServerApp.open_browser=False", "--CodexLabApp.start_at_launch=True"]
    if args.port is not None:
        argv += [f"--ServerApp.port={args.port}", "--ServerApp.port_retries=0"]
    argv.append(f"--CodexLabApp.home={Path(args.home if args.home else _home(args)).resolve()}")
    for item in args.set:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            from .errors import CodexConfigError

            raise CodexConfigError(f"`--set {item}` should be `CLASS.TRAIT=VALUE`, e.g. `CodexLabApp.workers=4`.")
        argv.append(f"--{item}")
    CodexLabApp.launch_instance(argv=argv)
    return 0


def _home(args: argparse.Namespace) -> Path:
    from .runtime.lab import default_home

    return Path(args.home) if args.home else default_home()


def _cmd_kg_query(args: argparse.Namespace) -> int:
    from .kg import kg_query_cli

    if not args.timeout > 0:
        raise CodexError(f"`--timeout {args.timeout:g}` should be a number of seconds > 0.")
    print(kg_query_cli(_home(args), args.sparql, args.timeout))
    return 0


def _cmd_kg_rebuild(args: argparse.Namespace) -> int:
    from .kg import rebuild
    from .store import open_store

    home = _home(args).expanduser().resolve()
    report = rebuild(home, open_store(None, home=home))
    if report.moved_aside is not None:
        print(f"the graph could not be opened; moved it aside to {report.moved_aside}")
    print(f"rebuilt {home / 'kg'}: {report.runs} runs and {report.mutations} mutations, {report.quads} quads")
    for run, problem in report.skipped.items():
        print(f"  left out run {run}: {problem}")
    return 1 if report.skipped else 0


def _cmd_kg_sync(args: argparse.Namespace) -> int:
    from .kg import drain_pending, open_kg
    from .store import open_store

    home = _home(args).expanduser().resolve()
    kg = open_kg(home)
    if kg.read_only:
        raise CodexError(
            f"The knowledge graph at `{kg.path}` is held by another process, which exports the queued runs "
            "itself; stop it first to sync from here."
        )
    outcome = drain_pending(kg, open_store(None, home=home), limit=None)
    print(f"exported {len(outcome.exported)} queued runs to {kg.path}")
    for run, reason in outcome.failed.items():
        print(f"  could not export run {run}: {reason}")
    return 1 if outcome.failed else 0


def _cmd_kg_export(args: argparse.Namespace) -> int:
    from .kg import kg_export_cli

    print(kg_export_cli(_home(args), args.format, args.out))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `codexlab` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CodexError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
