"""Paths as the package takes them (str, bytes or os.PathLike) and as the
binding wants them: remote paths as bytes, local ones as str; and the
callback types the transfers take."""

from __future__ import annotations

import os
from typing import Callable, Optional, Union

PathLike = Union[str, bytes, "os.PathLike[str]"]
Progress = Callable[[int], None]
# PUTCAN/GETCAN steps: (kind, n, total) -> None or "continue", "end", "stop", "cancel"
CanCallback = Callable[[str, int, int], Optional[str]]


def _b(p: PathLike) -> bytes:
    if isinstance(p, bytes):
        return p
    return os.fsencode(p)


def _s(p: bytes) -> str:
    return os.fsdecode(p)


def _local(p: PathLike) -> str:
    """A local path as str."""
    return os.fsdecode(os.fspath(p))
