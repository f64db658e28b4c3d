"""`python -m codexlab.qpu [FILE]`: the plan's virtual-QPU smoke run.

With FILE, run it as a sheet (one cell when it has no `# %%` markers) and print the sheet run. Without
FILE, run a single cell and then a small three-cell sheet in a throwaway home, twice, to show the
second run reusing every cell.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence

from ..errors import CodexError
from .cli import add_sheet_arguments, run_sheet_command

DEMO_CELL = """\
@grid x:-1..1:64, y:-1..1:64
ψ := gaussian(x, y, σ=0.25)
L = Δψ
"""

DEMO_SHEET = """\
# %% field
@grid x:-1..1:64, y:-1..1:64
u := gaussian(x, y, σ=0.3) * sin(3*x)

# %% lap
L = Δu

# %% grad
G = ∇u • ∇u

# %% energy
E = ‖L‖ + ‖G‖
"""


def _demo(jobs: int) -> int:
    from ..runtime import Lab

    with tempfile.TemporaryDirectory(prefix="codexlab-qpu-") as home:
        lab = Lab(home=home)
        lab.progress = False
        cell = lab.run_sheet(DEMO_CELL, jobs=1)
        print("single cell:")
        print(cell.summary())
        for label in ("sheet (first run)", "sheet (second run: every cell reused)"):
            print(f"\n{label}:")
            print(lab.run_sheet(DEMO_SHEET, jobs=jobs, container="qpu_demo").summary())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codexlab.qpu", description=__doc__)
    add_sheet_arguments(parser, file_required=False)
    args = parser.parse_args(argv)
    try:
        return run_sheet_command(args) if args.file else _demo(args.jobs)
    except CodexError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
