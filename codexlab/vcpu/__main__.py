"""`python -m codexlab.vcpu [FILE]`: the plan's virtual-CPU smoke run.

Compiles a scroll, prints its program (like `dis`), runs it under the instruction profiler and prints
the profile. Without FILE it runs a small built-in heat loop in a throwaway home; with FILE the run is
committed to `--home` (default `$CODEXLAB_HOME` or `./.codexlab`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import CodexError

DEMO = """\
@grid x:0..1:128, y:0..1:128
u = exp(-((x - 0.5)^2 + (y - 0.5)^2) / 0.02)
⟲ 50 { u = u + 0.00001 * Δu }
E = ‖u‖
"""


def _profile(code: str, home: str | None, container: str | None) -> int:
    from ..runtime import Lab

    lab = Lab(home=home)
    lab.progress = False
    print(lab.compile(code, container))
    print()
    profile = lab.profile(code, container)
    print(profile.table())
    print(f"\nrun {profile.run.run_id if profile.run else '?'}: {len(profile.run.beams) if profile.run else 0} beams")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codexlab.vcpu", description=__doc__)
    parser.add_argument("file", nargs="?", default=None, help="a .codex scroll (default: a built-in heat loop)")
    parser.add_argument("--home", default=None, help="codexlab home (default $CODEXLAB_HOME or ./.codexlab)")
    parser.add_argument("--container", "-c", default=None)
    args = parser.parse_args(argv)
    try:
        if args.file is None:
            with tempfile.TemporaryDirectory(prefix="codexlab-vcpu-") as home:
                return _profile(DEMO, home, args.container)
        path = Path(args.file)
        if not path.is_file():
            raise CodexError(f"`{path}` is not a file; pass the path of a `.codex` scroll.")
        return _profile(path.read_text(encoding="utf-8"), args.home, args.container)
    except CodexError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
