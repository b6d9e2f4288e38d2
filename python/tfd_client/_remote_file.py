"""A remote file as a binary file object (Session.open, which hands it its
session: this module imports none, so the session may import it)."""

from __future__ import annotations

import io

from ._errors import IsADirectory, Refused
from ._paths import PathLike, _b, _s


class RemoteFile(io.RawIOBase):
    """A remote file as a binary file object (Session.open). "wb" sends as it
    is written (the native upload); closing it puts the file in place, an
    exception out of its ``with`` block (or abort()) gives it up and the
    server keeps its old file. "ab" sends as it is written too, with PUT
    from the file's end (PUT writes in place): what was sent stays, given
    up or not."""

    def __init__(self, session, path: PathLike, mode: str):
        super().__init__()
        self._s = session
        self._path = path
        self._mode = mode
        self._pos = 0
        self._up = None
        if mode == "rb":
            st = session.stat(path)
            if st.kind == "dir":
                raise IsADirectory(f"{_s(_b(path))}: is a directory on the server", filename=_s(_b(path)))
            self._size = st.size
        else:
            if mode == "ab":
                self._pos = session.size(path) if session.exists(path) else 0
            try:
                self._up = session._n.upload(_b(path), mode != "xb", self._pos if mode == "ab" else None)
            except Refused as e:
                said = session._explain_put(path, e)
                if said is e:
                    raise
                raise said from e

    def readable(self) -> bool:
        return self._mode == "rb"

    def writable(self) -> bool:
        return self._mode != "rb"

    def seekable(self) -> bool:
        return self._mode == "rb"

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        if self._mode != "rb":
            raise io.UnsupportedOperation("seek")
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if self._mode != "rb":
            raise io.UnsupportedOperation("read")
        if self._pos >= self._size:
            return b""
        if n is None or n < 0:
            n = self._size - self._pos
        n = min(n, self._size - self._pos)
        data = self._s.read_bytes(self._path, self._pos, n)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def write(self, data) -> int:
        if self._mode == "rb":
            raise io.UnsupportedOperation("write")
        if self.closed:
            raise ValueError("write to a closed file")
        try:
            n = self._up.write(data)
        except Refused as e:
            said = self._s._explain_put(self._path, e)
            if said is e:
                raise
            raise said from e
        self._pos += n
        return n

    def abort(self) -> None:
        """Gives a "wb" upload up: the server discards what came and keeps
        its old file (or none); an "ab" one stops where it is (what was sent
        is appended). The session goes on."""
        if self._up is not None and not self.closed:
            try:
                self._up.abort()
            finally:
                super().close()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self._up is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        # dropped unclosed (a broken-off loop): never commit half a file
        try:
            if self._up is not None and not self.closed:
                self.abort()
        except Exception:
            pass

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._up is not None:
                try:
                    self._up.close()
                except Refused as e:
                    said = self._s._explain_put(self._path, e)
                    if said is e:
                        raise
                    raise said from e
        finally:
            super().close()
