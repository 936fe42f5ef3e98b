"""RPN 2 chain head: sequences, with the time steps as attributes (within a sample) or as instances (rows).

* ``kind: attribute`` (default): every sample is a sequence of L steps of d features, flattened
  step-major, x in R^{L d} (step t at columns ``[t d, (t + 1) d)``). The chain interdependence (kind
  attribute, ``length: L``) mixes every step with its predecessor(s) (M kron I_d: the same mix for every
  feature), then kappa and psi act on every step with shared weights (one W in R^{n_s x D} for all
  steps)::

      g(x)_t = psi(kappa(sum_s M[s, t] x_s)) + b + pi(x_t)        -> (L n_s,), step-major

* ``kind: instance``: the rows of the batch are the consecutive steps of one sequence (keep the batch
  in order): ``g(X) = M^T psi(kappa(X)) + b + pi(X)``, as :class:`~rpnkit.nn.graph.GraphHead` with a
  chain (the sparse product runs on the narrower side).

The chain is any chain interdependence: ``chain`` (``bidirectional``, ``self_dependence``,
``self_scaling``, ``normalization``), ``multihop_chain`` (``hops``, ``cumulative``),
``inverse_approx_multihop_chain`` and ``exponential_approx_multihop_chain`` (``alpha``, ``terms``);
None gives the bag-of-steps head (every step on its own).

Corrected reference defects: the reference's chain head ignored its ``with_taylor`` option (kappa was
always the identity) and its layer overrode ``forward``; here kappa and psi are any registered pair.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..component import check_last_dim
from ..errors import ConfigError, ShapeError
from ..registry import register
from ..validation import check_choice, check_int, child_path, describe_divisors
from .graph import _NodeHead, instance_spec

__all__ = ["ChainHead"]

KINDS = ("attribute", "instance")


@register("head", "chain", aliases=["chain_interdependence_head"])
class ChainHead(_NodeHead):
    """Chain head over the L steps of a sequence (see the module docstring for both kinds).

    Args:
        m: input width: L d (attribute kind) or d (instance kind).
        n: output width: L n_s (attribute kind) or n_s (instance kind).
        length: L, the number of steps: required by the attribute kind (must divide m and n); the
            instance kind's chain runs over the batch rows (L = the rows when None, else checked).
        kind: ``"attribute"`` or ``"instance"``.
        interdependence: the chain spec (a name or a dict, name default ``chain``); ``kind`` and
            ``length`` are filled in. None: no mix (bag of steps).
        expansion: kappa spec, built with the step width d.
        reconciliation: psi spec (n_s, D), shared by every step; default ``"identity"``.
        bias: a learnable b in R^{n_s} added to every step.
        remainder: pi spec built with (d, n_s), applied to every step of the processed x
            (``linear``: a learned skip connection of the step itself).
        input_processing, output_processing: processing specs on x (width m) and on the output (width n).

    Attributes:
        length, step_width (d), out_width (n_s), D, l.

    Shape:
        attribute (..., L d) -> (..., L n_s); instance (..., L, d) -> (..., L, n_s).

    Example:
        >>> import torch
        >>> head = ChainHead(8 * 3, 8 * 2, length=8, interdependence={"name": "chain", "bidirectional": True})
        >>> head(torch.randn(5, 24)).shape
        torch.Size([5, 16])
    """

    xi_key = "interdependence"

    def __init__(
        self,
        m: int,
        n: int,
        length: int | None = None,
        kind: str = "attribute",
        interdependence: Any = "chain",
        expansion: Any = "identity",
        reconciliation: Any = "identity",
        bias: bool = False,
        remainder: Any = "zero",
        input_processing: Any = None,
        output_processing: Any = None,
    ) -> None:
        super().__init__()
        self.kind = check_choice(kind, "kind", list(KINDS))
        m, n = check_int(m, "m"), check_int(n, "n")
        length = check_int(length, "length", allow_none=True)
        if self.kind == "attribute":
            if length is None:
                raise ConfigError(
                    f"the attribute kind needs length, the number of steps L (m = L * step width); "
                    f"m={m} allows {describe_divisors(m)}",
                    child_path("length"),
                )
            for name, value in (("m", m), ("n", n)):
                if value % length:
                    raise ConfigError(
                        f"length={length} must divide {name}={value} ({name} = length * "
                        f"{'step width' if name == 'm' else 'output width per step'}); "
                        f"{name}={value} allows {describe_divisors(value, near=length)}",
                        child_path("length"),
                    )
            self.length = length
            self.step_width, self.out_width = m // length, n // length
            defaults = {"kind": "attribute", "length": length}
        else:
            self.length = length
            self.step_width, self.out_width = m, n
            defaults = {"kind": "instance", "length": length}
        self.m = m
        self._init_parts(
            m,
            n,
            expansion,
            reconciliation,
            self.out_width,
            bias,
            self.out_width,
            remainder,
            input_processing,
            output_processing,
            remainder_dims=(self.step_width, self.out_width),
        )
        spec = instance_spec(interdependence, self.xi_key, "chain", defaults)
        xi_m = m if self.kind == "attribute" else self.D
        xi = self._build_xi(spec, self.xi_key, self.kind, xi_m)
        if xi is not None:
            xi_length = getattr(xi, "length", None)
            if self.kind == "attribute" and xi_length is not None and xi_length != length:
                raise ConfigError(
                    f"the chain's length={xi_length} differs from the head's length={length}",
                    child_path(f"{self.xi_key}.length"),
                )
            if self.kind == "attribute" and xi.m_out != m:
                raise ConfigError(
                    f"the attribute interdependence must keep the width m={m}, it gives {xi.m_out}",
                    child_path(self.xi_key),
                )
        self.interdependence = xi

    def _kappa_m(self) -> int:
        return self.step_width

    def forward(self, x: Tensor) -> Tensor:
        check_last_dim(x, self.m, "chain head")
        if self.input_processing is not None:
            x = self.input_processing(x)
        xi, psi = self.interdependence, self.reconciliation
        if self.kind == "instance":
            if x.dim() < 2:
                raise ShapeError(f"chain head (instance kind): expected the steps as rows, got {tuple(x.shape)}")
            z = self.expansion(x)
            y = psi.product(z) if xi is None else self._mixed_product(xi, x, z)
            return self._finish(y, x)
        steps = x.unflatten(-1, (self.length, self.step_width))
        mixed = steps if xi is None else xi(x).unflatten(-1, (self.length, self.step_width))
        y = self._add_biases(psi.product(self.expansion(mixed)))
        if not self.remainder.is_zero:
            y = y + self.remainder(steps)
        return self._output(y.flatten(-2))

    def extra_repr(self) -> str:
        return (
            f"m={self.m}, n={self.n}, kind={self.kind!r}, length={self.length}, step_width={self.step_width}, "
            f"out_width={self.out_width}, D={self.D}, l={self.l}"
        )
