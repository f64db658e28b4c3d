"""`codexlab sheet run FILE` and `python -m codexlab.qpu FILE`: run a sheet and print what ran, what was
reused, the values, the beams and the sheet metrics (or all of it as JSON)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .result import SheetRun

__all__ = ["add_sheet_arguments", "run_sheet_command", "sheet_to_json"]


def add_sheet_arguments(parser: argparse.ArgumentParser, *, file_required: bool = True) -> None:
    """The options of `codexlab sheet run` (shared by `python -m codexlab.qpu`)."""
    parser.add_argument("file", nargs=None if file_required else "?", help="a .codex sheet (`# %% id` cells) or .ipynb")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="cells run at once (threads; default 1)")
    parser.add_argument("--json", action="store_true", help="print the sheet run as JSON")
    parser.add_argument("--container", "-c", default=None, help="container to run in (default: the cells' @container)")
    parser.add_argument("--home", default=None, help="codexlab home (default $CODEXLAB_HOME or ./.codexlab)")
    parser.add_argument("--no-cache", action="store_true", help="run every cell; neither reuse nor store results")
    parser.add_argument("--flag", action="append", metavar="NAME=VALUE", help="override a feature flag (repeatable)")


def sheet_to_json(run: SheetRun) -> dict[str, Any]:
    """The JSON document of `codexlab sheet run --json`."""
    from ..runtime.run import value_to_json

    return {
        "sheet_run_id": run.sheet_run_id,
        "sheet": run.sheet,
        "container": run.container_id,
        "jobs": run.jobs,
        "order": run.order,
        "ran": run.ran,
        "reused": run.reused,
        "cells": {
            cid: {
                "status": o.status,
                "reads": list(o.reads),
                "writes": list(o.writes),
                "ms": o.duration_ms,
                "run_id": o.run_id,
                "reused_run_id": o.reused_run_id,
                "beams": [b.beam_id for b in o.beams],
            }
            for cid, o in run.cells.items()
        },
        "values": {k: value_to_json(v) for k, v in run.values.items()},
        "beams": [b.beam_id for b in run.beams],
        "metrics": {k: v for k, v in run.metrics.items() if k not in ("kind", "rows", "edges")},
        "qfc_id": run.qfc_id,
    }


def run_sheet_command(args: argparse.Namespace, flag_overrides: Sequence[str] | None = None) -> int:
    """Run `args.file` as a sheet in a Lab at `args.home`; print the summary or JSON."""
    from ..flags import parse_flag_overrides
    from ..runtime import Lab

    lab = Lab(home=args.home, flags=parse_flag_overrides(flag_overrides or args.flag) or None)
    lab.progress = False
    run = lab.run_sheet(args.file, jobs=args.jobs, container=args.container, cache=not args.no_cache)
    if args.json:
        print(json.dumps(sheet_to_json(run), indent=2, ensure_ascii=False, default=str))
    else:
        print(run.summary())
    return 0
