"""Ids from user text: any printable container id is valid; ids that embed user text escape it."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from codexlab.contracts import BeamEvent, QfcUpdate, check_container_id, eid_for, new_beam_id, run_of_eid
from codexlab.errors import CodexValueError, ContractError

PRINTABLE = ["my lab", "a/b", "α:β", "50% done", "x" * 300, "<script>", "ünïcödé ψ", "::", "  spaced  "]


@pytest.mark.parametrize("container", PRINTABLE)
def test_any_printable_container_id_is_valid_everywhere(container: str) -> None:
    assert check_container_id(container) == container
    update = QfcUpdate(source=f"container::{container}", payload={"kind": "qpu_cell_update"})
    assert update.container_id == container
    beam = BeamEvent(
        beam_id=new_beam_id(container, "wave"),
        cell_id=container,
        sheet_run_id=container,
        container_id=container,
        eid=eid_for(container, "ab12"),
        stage="wave",
        token="∇",
        timestamp="2025-01-01T00:00:00Z",
    )
    assert beam.container_id == container
    # the escaped parts decode back with plain percent-decoding (an independent reference)
    assert unquote(beam.beam_id.removeprefix("beam_").rsplit("_wave_", 1)[0]) == container
    assert run_of_eid(beam.eid or "") == container
    assert re.fullmatch(r"beam_\S+", beam.beam_id) and re.fullmatch(r"eid::[^:\s]+::[^:\s]+", beam.eid or "")


@pytest.mark.parametrize(
    ("container", "message"),
    [
        ("", "is empty"),
        ("a\nb", r"unprintable character '\\n'"),
        ("tab\there", r"unprintable character '\\t'"),
        ("bell\x07", r"unprintable character '\\x07'"),
        (3, "got a `int`"),
    ],
)
def test_unprintable_container_ids_are_refused_with_the_reason(container: object, message: str) -> None:
    with pytest.raises(CodexValueError, match=message):
        check_container_id(container)


def test_qfc_source_refuses_unprintable_ids() -> None:
    for source in ("container::", "container::a\x00b", "box::a"):
        with pytest.raises(ContractError, match="qfc_update.source"):
            QfcUpdate(source=source, payload={"kind": "qpu_cell_update"})


def test_plain_ids_are_unchanged() -> None:
    assert new_beam_id("cell_001", "wave").startswith("beam_cell_001_wave_")
    assert eid_for("a1b2c3", "9f86d0") == "eid::a1b2c3::9f86d0"
    assert run_of_eid("eid::a1b2c3::9f86d0") == "a1b2c3"
