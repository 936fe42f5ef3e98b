"""Exceptions raised by rpnkit.

Every error a user can cause derives from :class:`RPNError`. Configuration problems raise
:class:`ConfigError`, which also is a :class:`ValueError` and carries the config path of the
offending value (``layers[1].heads[0].reconciliation.p``) so that messages say where to fix it.
"""

from __future__ import annotations

__all__ = ["RPNError", "ConfigError", "ShapeError"]


class RPNError(Exception):
    """Base class of every error rpnkit raises on purpose."""


class ConfigError(RPNError, ValueError):
    """A configuration or constructor argument is invalid.

    Args:
        message: what is wrong and what was expected.
        path: dotted config path of the offending value (may be empty).
    """

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        self.detail = message
        super().__init__(f"{path}: {message}" if path else message)


class ShapeError(RPNError, ValueError):
    """A tensor given to ``forward`` has the wrong shape (names the component, expected and got)."""
