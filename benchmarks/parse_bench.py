"""Parse speed of CodexLang: lines per second on a generated 10,000-line scroll (median of 5 runs).

Run: `python benchmarks/parse_bench.py [--lines N] [--repeats R]`. The scroll cycles through the
example scroll of CODEXLANG.md (every statement kind, most glyphs) with fresh names per cycle, so the
number reflects the documented mix of lines, not one easy line. Wall time is shared with whatever else
runs on the machine, so CPU time of this process is printed beside it.
"""

from __future__ import annotations

import argparse
import statistics
import time

from codexlab.lang.parser import codexlang_parser, parse

_TEMPLATE = (
    "@grid x:-1..1:256, y:-1..1:256",
    "@precision fp32",
    "@seed {k}",
    "@container lab{k}",
    "ψ{k} := gaussian(x, y, σ=0.15) * exp(i*8*x)",
    'φ{k} := load("data/fields/ring{k}.nc")',
    "L{k} = ∇·∇ψ{k}",
    "E{k} = ∇ψ{k} • ∇ψ{k} + Δψ{k}",
    "ψ{k} ↔ φ{k}",
    "⟲ 50 {{ ψ{k} = ψ{k} + 0.001*i*Δψ{k} }}",
    "⟲ until ‖ψ{k} - ψ′‖ < 1e-6 max 500 {{ ψ′ = ψ{k}; ψ{k} = relax(ψ{k}) }}",
    "⟦ Goal | smooth{k} : ‖∇ψ{k}‖ < 40 ⟧",
    "⟦ Plan | relax{k} : ⟲ 50 {{ ψ{k} = ψ{k} + 0.001*i*Δψ{k} }} ⟧",
)


def generated_scroll(lines: int) -> str:
    """A scroll of `lines` lines cycling through the template with fresh names."""
    return "\n".join(_TEMPLATE[k % len(_TEMPLATE)].format(k=k) for k in range(lines)) + "\n"


def measure(lines: int = 10_000, repeats: int = 5) -> dict[str, float]:
    """Median wall and CPU seconds over `repeats` parses of a `lines`-line scroll, and its tokens per line."""
    text = generated_scroll(lines)
    parse(text)  # compile the grammar outside the timing
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        parse(text)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return {
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "tokens_per_line": _count_tokens(text) / lines,
    }


def _count_tokens(text: str) -> int:
    """Tokens the parser consumes (separators included, blanks and comments not)."""
    lexer = codexlang_parser().parser.lexer
    return sum(1 for m in lexer.master.finditer(text) if m.lastgroup not in lexer.ignore)


def main() -> None:
    """Print the median parse speed."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--lines", type=int, default=10_000)
    cli.add_argument("--repeats", type=int, default=5)
    args = cli.parse_args()
    result = measure(args.lines, args.repeats)
    print(
        f"parsed {args.lines} lines ({result['tokens_per_line']:.1f} tokens/line), "
        f"median of {args.repeats}: "
        f"{result['wall_s'] * 1000:.0f} ms wall = {args.lines / result['wall_s']:,.0f} lines/s; "
        f"{result['cpu_s'] * 1000:.0f} ms CPU = {args.lines / result['cpu_s']:,.0f} lines/s"
    )


if __name__ == "__main__":
    main()
