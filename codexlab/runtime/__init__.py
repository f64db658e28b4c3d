"""Runtime: the Lab (one entry point), cell executor, scheduler, instruction registry, carrier memory."""

from __future__ import annotations

from .lab import Lab
from .memory import CarrierMemory
from .run import Run
from .scheduler import CodexCostEstimator, Decision, Scheduler
from .values import Value, Vetoed

__all__ = ["Lab", "Run", "CarrierMemory", "Scheduler", "CodexCostEstimator", "Decision", "Value", "Vetoed"]
