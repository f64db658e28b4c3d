"""`execute_qfc_container_beams` (plan name `container_exec`): run a stored program over a container's
fields through the Lab's one pipeline, every beam tagged `"source": "qfc_container_exec"`.

A program is a fused QGlyph program (a `QGlyphProgram`, or its id as `lab.qglyph` resolves it), a
fusion glyph, or a scroll (an `ast.Scroll`, a `.codex` path, a library scroll's name, or CodexLang
text). Programs are turned into CodexLang and run with `Lab.run(..., source="qfc_container_exec")`,
so they are rewritten, scheduled, vetted, scored and persisted like any cell.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CodexNameError, CodexTypeError, CodexValueError
from ..lang import ast
from ..lang.printer import to_text
from ..photon.adapter import photon_to_codex_ast
from ..photon.ir import PAssign, PExpr, PhotonProgram, PNode, PStatement, name, node, num
from ..qwave.qglyph import QGlyphProgram, QInput, Ref
from ..runtime.run import Run

if TYPE_CHECKING:
    from .container import Container

__all__ = ["execute_qfc_container_beams", "program_code", "SOURCE"]

#: The `source` of every beam a container exec makes (the plan's tag).
SOURCE = "qfc_container_exec"


def _node(ref: Ref, program: QGlyphProgram, inputs: Mapping[str, str], memo: dict[str, PNode]) -> PNode:
    """The Photon node of a QGlyph ref (inputs renamed by `inputs`)."""
    if isinstance(ref, QInput):
        return name(inputs.get(ref.name, ref.name) if ref.kind == "name" else ref.name)
    if not isinstance(ref, str):
        return PNode("imag", (), None) if ref == 1j else num(ref)
    if ref in memo:
        return memo[ref]
    ins = program.instr(ref)
    args = [_node(a, program, inputs, memo) for a in ins.args]
    attrs = dict(ins.attrs)
    if ins.op == "str":
        out = PNode("str", (), attrs["value"])
    elif ins.op == "call":
        keywords = tuple(attrs.get("kw", ()))
        cut = len(args) - len(keywords)
        out = node("call", *args[:cut], value=attrs["fn"], kwargs=tuple(zip(keywords, args[cut:], strict=True)))
    else:
        out = node(ins.op, *args, value=attrs.get("value"))
    memo[ref] = out
    return out


def program_code(
    program: QGlyphProgram, inputs: Mapping[str, str] | None = None, outputs: Mapping[str, str] | None = None
) -> str:
    """A QGlyph program as CodexLang: one statement per output (`_` stays a bare expression)."""
    inputs, outputs = dict(inputs or {}), dict(outputs or {})
    memo: dict[str, PNode] = {}
    statements: list[PStatement] = []
    for out, ref in program.outputs:
        expr = _node(ref, program, inputs, memo)
        target = outputs.get(out, out)
        statements.append(PExpr(expr) if target == "_" else PAssign(target, expr))
    scroll = photon_to_codex_ast(PhotonProgram(tuple(statements)))
    return to_text(scroll)


def _resolve(container: Container, program: Any) -> Any:
    """A str program: a QGlyph id, then a library scroll's name, then CodexLang text."""
    if not isinstance(program, str):
        return program
    lab = container.lab
    try:
        return lab.qglyph(program)
    except CodexNameError:
        pass
    if "\n" not in program and program in lab.library:
        return lab.library.load(program)
    return program


def _code(
    container: Container, program: Any, inputs: Mapping[str, str] | None, outputs: Mapping[str, str] | None
) -> tuple[str, str]:
    """(CodexLang code, a label for the cell id) of a program."""
    from ..patterns.fusion import FusionGlyph

    program = _resolve(container, program)
    if isinstance(program, QGlyphProgram):
        return program_code(program, inputs, outputs), program.qglyph_id[:12]
    if isinstance(program, FusionGlyph):
        if program.name not in container.lab.ops:
            return program_code(program.program, inputs, outputs or {"_": program.name}), program.name
        args = ", ".join((inputs or {}).get(i, i) for i in program.inputs)
        target = (outputs or {}).get(program.name, program.name)
        return f"{target} = {program.name}({args})\n", program.name
    if inputs or outputs:
        raise CodexValueError(
            "`inputs` and `outputs` rename a QGlyph program's or a fusion glyph's slots; a scroll names its "
            "own, so drop them or edit the scroll."
        )
    if isinstance(program, ast.Scroll):
        return to_text(program), "scroll"
    if isinstance(program, os.PathLike):
        path = Path(program)
        if not path.is_file():
            raise CodexValueError(f"`{path}` is not a file; pass a `.codex` scroll.")
        return path.read_text(encoding="utf-8"), path.stem
    if isinstance(program, str):
        return program, "scroll"
    raise CodexTypeError(
        f"A container program is a QGlyph program (or its id), a fusion glyph or a scroll (text, path, "
        f"`ast.Scroll` or a library name), not `{type(program).__name__}`."
    )


def execute_qfc_container_beams(
    container: Container,
    program: Any,
    *,
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | str | None = None,
    cell_id: str | None = None,
) -> Run:
    """Run `program` over `container`'s fields; every beam of the run has `source="qfc_container_exec"`.

    Parameters: `inputs` maps a program's input names to the container's names (default: the same
    names); `outputs` maps its output names to names to bind (a str names a program's only output);
    `cell_id` defaults to `exec_<program>`. Returns the `Run`. Raises `CodexError`s as `Lab.run` does,
    `CodexValueError` when `inputs`/`outputs` are given for a scroll, `CodexTypeError` for another kind
    of program.
    """
    mapping = _single_output(container, program, outputs) if isinstance(outputs, str) else outputs
    code, label = _code(container, program, inputs, mapping)
    cell = cell_id or f"exec_{label}"
    return container.lab.run(code, container=container.container_id, cell_id=cell, source=SOURCE)


def _single_output(container: Container, program: Any, target: str) -> dict[str, str]:
    """`outputs="E"`: the program's one output bound as `E`."""
    from ..patterns.fusion import FusionGlyph

    resolved = _resolve(container, program)
    if isinstance(resolved, FusionGlyph):
        return {resolved.name: target, "_": target}
    if isinstance(resolved, QGlyphProgram):
        if len(resolved.outputs) != 1:
            names = ", ".join(f"`{n}`" for n, _ in resolved.outputs)
            raise CodexValueError(
                f"The program has {len(resolved.outputs)} outputs ({names}); map them with a dict, "
                f'e.g. `outputs={{"{resolved.outputs[0][0]}": "{target}"}}`.'
            )
        return {resolved.outputs[0][0]: target}
    raise CodexValueError("`outputs` renames a QGlyph program's or a fusion glyph's output; a scroll names its own.")
