"""QFC payloads are read and written under the home's `qfc/` folder only, by id."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from codexlab.cli import main
from codexlab.contracts import QfcUpdate
from codexlab.errors import CodexNameError, CodexValueError
from codexlab.runtime.qfc import load_qfc, save_qfc

UPDATE = QfcUpdate(source="container::my lab", payload={"kind": "qpu_cell_update", "n": 1})


def test_ids_that_name_other_files_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "home" / "qfc"
    save_qfc(root, "qfc::abc123", [UPDATE])
    assert load_qfc(root, "qfc::abc123") == [UPDATE]
    (tmp_path / "x.json").write_text(json.dumps([UPDATE.model_dump(mode="json")]))
    for bad in ("../../x", "qfc::../../x", "qfc::/etc/passwd", "qfc::a/b", "qfc::", "qfc::.hidden", "..", "x" * 200):
        with pytest.raises(CodexValueError, match="is not a QFC id"):
            load_qfc(root, bad)
        with pytest.raises(CodexValueError, match="is not a QFC id"):
            save_qfc(root, bad, [UPDATE])
    with pytest.raises(CodexNameError, match="No QFC payloads `qfc::nope`"):
        load_qfc(root, "qfc::nope")


def test_a_symlink_in_the_folder_is_not_followed_out(tmp_path: Path) -> None:
    root = tmp_path / "qfc"
    root.mkdir()
    (tmp_path / "secret.json").write_text(json.dumps([UPDATE.model_dump(mode="json")]))
    os.symlink(tmp_path / "secret.json", root / "leak.json")
    with pytest.raises(CodexValueError, match="resolves outside"):
        load_qfc(root, "qfc::leak")


def test_the_cli_refuses_a_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.json").write_text("[]")
    assert main(["qfc", "../../x", "--home", str(tmp_path / "home" / "inner")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CodexValueError: `../../x` is not a QFC id" in err[0]
