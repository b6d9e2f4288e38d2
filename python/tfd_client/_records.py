"""The values calls return: a stat, a listing's entry, a FAI token, a
notification, and FTYPE's names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple


class Notification:
    """A file a notification registration found: ``index`` the registration
    (ADDNTFY's order, from 0), ``name`` the file's name in its directory."""

    def __init__(self, index: int, name: str, native):
        self.index, self.name, self._n = index, name, native

    def __repr__(self) -> str:
        return f"Notification(index={self.index}, name={self.name!r})"

    def keep(self) -> None:
        """OK: the file stays and is found again in a later pass."""
        self._n.notification_answer("keep")

    def delete(self) -> None:
        """DEL: the server removes the file."""
        self._n.notification_answer("delete")

    def end(self) -> None:
        """END: the server ends the session."""
        self._n.notification_answer("end")


# FTYPE's answers by the document's byte (0 to 7).
FILE_TYPES = ("dir", "chardev", "blockdev", "file", "fifo", "symlink", "socket", "other")


def _type_name(code: int) -> Optional[str]:
    return FILE_TYPES[code] if 0 <= code < len(FILE_TYPES) else None


class _Kinded:
    """is_dir / is_file from ``kind``, for Stat and Entry."""

    kind: str

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"

    @property
    def is_file(self) -> bool:
        return self.kind == "file"


@dataclass(frozen=True)
class Stat(_Kinded):
    """FSTAT's answer: kind ("file", "dir" or "other"), size in bytes, mtime in
    seconds since the epoch."""

    kind: str
    size: int
    mtime: int


@dataclass(frozen=True)
class Entry(_Kinded):
    """One entry of a listing: ``name`` relative to the listed directory,
    ``path`` the full remote path; size and mtime when asked for (stat=True)."""

    name: str
    path: str
    kind: str
    size: Optional[int] = None
    mtime: Optional[int] = None


@dataclass(frozen=True)
class FaiToken:
    """A Fast Access (FAI) token: pass it to connect(fai=...) to enter without
    the RSA handshake. ``key`` is secret."""

    token: str
    expiry: int
    key: bytes

    def __repr__(self) -> str:
        return f"FaiToken(token={self.token!r}, expiry={self.expiry})"

    def _tuple(self) -> Tuple[str, int, bytes]:
        return (self.token, self.expiry, bytes(self.key))
