"""End-to-end demo: a Photon expression with ∇/⊗ → compiled QWave beams (JAX) → persisted beams and
entanglements → SQI scoring and SoulLaw → SPE repair on drift and fusion → PROV-O knowledge graph export.

    python scripts/demo_photon_qwave_sqi.py [--home DIR]      # same as `codexlab demo`

It prints `GHX replay id: …` and `QFC id: …`; `codexlab replay <id>` and `codexlab qfc <id>` show them.
"""

from __future__ import annotations

import argparse

from codexlab.demo import run_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=None, help="codexlab home (default $CODEXLAB_HOME or ./.codexlab)")
    run_demo(parser.parse_args().home)


if __name__ == "__main__":
    main()
