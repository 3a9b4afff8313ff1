"""Exceptions raised by litepose.

``ModelError`` (a ``ValueError``) is raised for model files and checkpoints
that cannot be used; plain ``ValueError`` for bad arguments.
"""
from __future__ import annotations

try:
    from ._core import ModelError  # the native one, so C++ and Python raise the same type
except ImportError:  # pragma: no cover - only when the extension is not built
    class ModelError(ValueError):
        """A model file or checkpoint that cannot be used."""

__all__ = ["ModelError"]
