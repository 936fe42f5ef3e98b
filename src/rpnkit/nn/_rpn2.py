"""What the RPN 2 heads share: their n check, the token geometry, the remainder and output processing
at the end of forward, and the config of their child and processing modules."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from ..component import Component, to_plain
from ..errors import ConfigError
from ..processing import processing_config
from ..validation import check_int, child_path, config_path


def checked_n(n: Any, expected: int, formula: str, detail: str = "") -> int:
    """The output width a head computes (``expected``), checked against ``n`` when given.

    The error reads ``n must be <formula> = <expected><detail>, got <n>``.
    """
    if n is not None and check_int(n, "n") != expected:
        raise ConfigError(f"n must be {formula} = {expected}{detail}, got {n}", child_path("n"))
    return expected


def token_args(m: Any, length: Any, width: Any) -> tuple[int, int | None, int | None]:
    """(m, length, width) of a token-major row checked as ints, at least one of length and width given."""
    m = check_int(m, "m")
    length = check_int(length, "length", allow_none=True)
    width = check_int(width, "width", allow_none=True)
    if length is None and width is None:
        raise ConfigError("give length (the number of tokens) or width (the token width), or both", config_path())
    return m, length, width


def length_width_mismatch(m: int, length: int, width: int) -> ConfigError:
    """The error of a row whose m is not length * width."""
    return ConfigError(f"m must be length * width = {length} * {width} = {length * width}, got m={m}", config_path())


class RPN2Head(Component):
    """Base of the RPN 2 heads: ``remainder`` and ``output_processing`` (and maybe ``input_processing``).

    :meth:`_finish` ends a forward pass (+ pi(x), then the output processing); :meth:`to_config` writes
    the built children named in ``child_keys`` with their own configs and the processing modules named
    in ``processing_keys`` (dropped when there is none).
    """

    #: child modules that to_config writes back from the built module (None ones keep their spec)
    child_keys: ClassVar[tuple[str, ...]] = ()
    #: processing modules of the head
    processing_keys: ClassVar[tuple[str, ...]] = ("input_processing", "output_processing")

    def _output(self, y: Tensor) -> Tensor:
        """y after the output processing."""
        return y if self.output_processing is None else self.output_processing(y)

    def _finish(self, y: Tensor, x: Tensor) -> Tensor:
        """y + pi(x) (nothing for a zero remainder), then the output processing."""
        if not self.remainder.is_zero:
            y = y + self.remainder(x)
        return self._output(y)

    def to_config(self) -> dict[str, Any]:
        config = super().to_config()
        for key in self.child_keys:
            module = getattr(self, key)
            if module is not None:
                config[key] = to_plain(module)
        for key in self.processing_keys:
            module = getattr(self, key)
            if module is None:
                config.pop(key, None)
            else:
                config[key] = processing_config(module)
        return config
