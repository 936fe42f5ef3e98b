"""Loss and metrics of model outputs: the loss's targets, the predictions the metrics see, a split's scores."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..config.optim import build_loss
from . import metrics as M

__all__ = ["Scorer"]


class Scorer:
    """The loss (a checked spec, see :func:`rpnkit.config.optim.check_loss`) and the metrics of one task."""

    def __init__(self, loss: dict[str, Any], task: str, metrics: list[str]) -> None:
        self.loss_cfg, self.task, self.metrics = loss, task, metrics
        self.loss_fn = build_loss(loss)

    def targets(self, y: Tensor, n_out: int) -> Tensor:
        """The loss target for labels / values ``y`` and a model with ``n_out`` outputs."""
        if self.loss_cfg["name"] == "bce_with_logits":
            return y.float().reshape(-1, 1) if n_out == 1 else nn.functional.one_hot(y, n_out).float()
        return y

    def predictions(self, output: Tensor) -> Tensor:
        """Class ids (argmax of the logits, or logit > 0 for one binary output) or the regression values."""
        if self.task == "classification":
            if output.shape[-1] == 1:
                return (output[..., 0] > 0).long()
            return output.argmax(-1)
        return output

    def loss(self, output: Tensor, y: Tensor) -> Tensor:
        """The loss of ``output`` against labels / values ``y``."""
        return self.loss_fn(output, self.targets(y, output.shape[-1]))

    def score(self, output: Tensor, y: Tensor, prefix: str = "") -> dict[str, float]:
        """``{prefix}loss`` and ``{prefix}<metric>`` of ``output`` against ``y`` (nothing for an empty split)."""
        if len(y) == 0:
            return {}
        scores = M.compute(self.metrics, y, self.predictions(output))
        return {f"{prefix}loss": self.loss(output, y).item(), **{f"{prefix}{k}": v for k, v in scores.items()}}
