"""The plan's example payloads (plan_examples.json), loaded once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES_PATH = Path(__file__).with_name("plan_examples.json")
PLAN_EXAMPLES: dict[str, Any] = json.loads(EXAMPLES_PATH.read_text(encoding="utf-8"))
