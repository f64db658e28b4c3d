"""`python -m codexlab.container`: the plan's container-exec demo.

Runs a cell in a container, exports the container to NetCDF and opens it with plain xarray, brings
the file back as a second container (ingest beams linked to the file's SHA-256 and to the exported
beams), and runs the cell's stored fused QGlyph program over the imported fields with
`execute_qfc_container_beams`, whose beams carry `"source": "qfc_container_exec"`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import CodexError

CELL = """\
@grid x:-1..1:64, y:-1..1:64
@method fd2
u := gaussian(x, y, σ=0.3) * cos(2*y) + 0*x
E = ∇u • ∇u + Δu
"""


def _demo(home: str) -> int:
    from ..runtime import Lab
    from . import execute_qfc_container_beams

    lab = Lab(home=home)
    lab.progress = False
    run = lab.run(CELL, container="source")
    box = lab.container("source")
    print(box)
    path = box.to_netcdf(Path(home) / "source.nc")
    with xr.open_dataset(path) as ds:
        names = sorted(map(str, ds.data_vars))
        print(f"exported {path.name}: variables {names}, E from beam {ds['E'].attrs['codexlab_beam_id']}")
    copy = lab.container_from_dataset(path, "copy")
    ingest = lab.store.get_beam(copy.memory.bindings["E"].value.beam_id or "")
    if ingest is None:
        raise CodexError("The imported `E` has no stored ingest beam, so the import did not commit; run it again.")
    print(f"imported into {copy.container_id}: {copy.names}; E's ingest beam parents {ingest.parents}")
    print(f"  source sha256 {ingest.result['source_sha256']}")
    qglyph = next(b.result["qglyph_id"] for b in run.beams if "qglyph_id" in b.result)
    program = lab.qglyph(qglyph)
    print(f"stored program {qglyph}:\n  " + program.to_text().replace("\n", "\n  "))
    done = execute_qfc_container_beams(copy, program, outputs="E_again")
    same = np.array_equal(np.asarray(done.values["E_again"]), np.asarray(box["E"]))
    print(
        f"container exec run {done.run_id}: {len(done.beams)} beams, sources {sorted({b.source for b in done.beams})}"
    )
    print(f"E_again equals E bit for bit: {same}")
    return 0 if same else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codexlab.container", description=__doc__)
    parser.add_argument("--home", default=None, help="codexlab home (default: a throwaway folder)")
    args = parser.parse_args(argv)
    try:
        if args.home:
            return _demo(args.home)
        with tempfile.TemporaryDirectory(prefix="codexlab-container-") as home:
            return _demo(home)
    except CodexError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
