"""JSON Schema export of every payload kind, and a check that committed schemas are up to date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from codexlab.contracts.registry import model_for, payload_kinds

__all__ = ["SCHEMA_SUFFIX", "export_schemas", "schema_for", "schema_texts", "schemas_are_current"]

SCHEMA_SUFFIX = ".schema.json"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema of one payload kind (validation mode), tagged with its kind and version."""
    model: type[BaseModel] = model_for(kind)
    schema = model.model_json_schema(mode="validation")
    version_field = schema.get("properties", {}).get("v")
    if version_field is not None:
        version_field["const"] = model.VERSION  # type: ignore[attr-defined]
    schema["$schema"] = _DIALECT
    schema["$id"] = f"https://codexlab.dev/schemas/{kind}{SCHEMA_SUFFIX}"
    schema["x-codexlab-kind"] = kind
    schema["x-codexlab-version"] = model.VERSION  # type: ignore[attr-defined]
    return schema


def schema_texts() -> dict[str, str]:
    """File name -> exact file text (sorted keys, indent 2, trailing newline) for every kind."""
    return {
        f"{kind}{SCHEMA_SUFFIX}": json.dumps(schema_for(kind), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        for kind in payload_kinds()
    }


def export_schemas(dest: Path | str) -> list[Path]:
    """Write one `<kind>.schema.json` per payload kind into `dest`; return the paths written."""
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_texts().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def schemas_are_current(dest: Path | str) -> list[str]:
    """Names of schema files in `dest` that are missing, stale, or for a kind that no longer exists."""
    folder = Path(dest)
    expected = schema_texts()
    problems = []
    for name, text in expected.items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            problems.append(name)
    if folder.is_dir():
        problems.extend(p.name for p in folder.glob(f"*{SCHEMA_SUFFIX}") if p.name not in expected)
    return sorted(problems)
