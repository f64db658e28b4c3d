"""Knowledge-graph fixtures: a fresh on-disk graph per test, closed afterwards so its lock frees."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from codexlab.kg import KnowledgeGraph


@pytest.fixture
def kg(tmp_path: Path) -> Iterator[KnowledgeGraph]:
    graph = KnowledgeGraph(tmp_path / "kg", user="alice")
    yield graph
    graph.close()
