"""Runtime: the Lab (one entry point) and the cell pipeline — rewrite, plan, the machine that runs the plan,
the vet stage, carrier memory (a container's live values) and the cost report."""

from __future__ import annotations

from .cost import CodexCostEstimator
from .lab import Lab
from .memory import CarrierMemory
from .program import Program
from .run import Run
from .values import Value, Vetoed

__all__ = ["Lab", "Run", "Program", "CarrierMemory", "CodexCostEstimator", "Value", "Vetoed"]
