"""What :meth:`rpnkit.train.Trainer.fit` returns (:class:`FitResult`) or raises (:class:`TrainingError`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import RPNError

__all__ = ["FitResult", "TrainingError"]


class TrainingError(RPNError):
    """Training cannot go on (the loss diverged, a checkpoint does not match)."""


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` returns."""

    history: list[dict[str, Any]]
    best_epoch: int | None
    best_value: float | None
    monitor: str
    test: dict[str, float] = field(default_factory=dict)
    stopped_early: bool = False
    epochs_run: int = 0
    seconds: float = 0.0
    run_dir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "monitor": self.monitor,
            "test": self.test,
            "stopped_early": self.stopped_early,
            "epochs_run": self.epochs_run,
            "seconds": round(self.seconds, 3),
        }
