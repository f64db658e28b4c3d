"""Fixtures for the contract tests: the plan's example payloads."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.contracts._examples import PLAN_EXAMPLES


@pytest.fixture
def examples() -> dict[str, Any]:
    """A fresh deep copy of the plan's six example payloads, keyed by kind."""
    return copy.deepcopy(PLAN_EXAMPLES)
