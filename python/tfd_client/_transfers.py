"""The Session's transfers: files up and down through the client engine,
file objects, byte ranges, the whole-file commands (SNDFILE, RCVFILE, SUP,
SDOWN) and PUTCAN/GETCAN; refusals of a transfer said in words."""

from __future__ import annotations

import io
import os
import posixpath
from typing import Optional, Tuple

from . import _native
from ._errors import Error, IsADirectory, Mismatch, NotADirectory, NotFound, Refused, UsageError
from ._paths import CanCallback, PathLike, Progress, _b, _local, _s
from ._remote_file import RemoteFile


def _whole(data) -> bytes:
    """``data`` as the bytes object the binding reads in place (a copy only
    of what is not bytes already: a bytearray, a memoryview)."""
    return data if type(data) is bytes else bytes(data)


class _Transfers:
    """The Session's transfers (a base of Session)."""

    _n: "_native.Session"

    def put(
        self,
        local: PathLike,
        remote: PathLike,
        *,
        streams: int = 1,
        resume: bool = False,
        verify: bool = False,
        progress: Optional[Progress] = None,
        bufsz: int = 4 << 20,
        whole_file: Optional[bool] = None,
    ) -> None:
        """Uploads a local file through the client engine ``tf put`` runs,
        which alone chooses how, so both send the same commands: into
        `remote`, or into it under the file's own name when it is a directory
        on the server (as cp and ``tf put`` do); whole through SNDFILE with
        overwrite (the server writes a temporary and renames it into place),
        over a slow link as a delta onto a changed file or in a batch; with
        streams > 1 or resume, a staged upload (that many connections,
        resumable, replacing the target only when whole and matching the
        local SHA-256), or in place with PUT on a server without staged
        uploads. verify: the server commits only what matches the local
        SHA-256, and both ends are compared afterwards (Mismatch, a
        ProtocolError, on a mismatch). whole_file, as rsync's --whole-file:
        None lets the link decide whether a changed file goes as a delta,
        True sends it whole, False sends a delta whatever the link."""
        try:
            landed = self._n.put(_local(local), _b(remote), streams, bufsz, resume, verify, whole_file, progress)
        except Refused as e:
            said = self._explain_put(remote, e)
            if said is e:
                raise
            raise said from e
        if verify:
            self._verify(local, landed)

    def _explain_put(self, remote: PathLike, e: Error) -> Error:
        """A refused upload said in words: FileNotFoundError naming the
        remote directory that is missing, NotADirectoryError naming the file
        in the way (the server's refusal otherwise)."""
        if not isinstance(e, Refused):
            return e
        parent = posixpath.dirname(_s(_b(remote)).rstrip("/"))
        if not parent:
            return e
        missing = None
        d = parent
        try:
            while d:
                st = self._n.stat(_b(d)) if self._n.exists(_b(d)) else None
                if st is not None:
                    if st[0] != "dir":
                        return NotADirectory(
                            f"cannot upload to {_s(_b(remote))}: {d} on the server is not a directory",
                            e.code, e.text, e.command, filename=_s(_b(remote)))
                    break
                missing = d
                d = posixpath.dirname(d)
        except Error:
            return e
        if missing is None:
            return e
        return NotFound(
            f"cannot upload to {_s(_b(remote))}: no directory {parent} on the server"
            + (f" ({missing} is missing)" if missing != parent else "")
            + f"; makedirs({parent!r}) makes it", e.code, e.text, e.command, filename=_s(_b(remote)))

    def get(
        self,
        remote: PathLike,
        local: PathLike,
        *,
        streams: int = 1,
        resume: bool = False,
        verify: bool = False,
        progress: Optional[Progress] = None,
        bufsz: int = 4 << 20,
        whole_file: Optional[bool] = None,
    ) -> int:
        """Downloads a remote file through the client engine ``tf get`` runs,
        which alone chooses how: onto a local copy over a slow link as a
        delta (whole_file, as rsync's --whole-file: None lets the link
        decide, True never, False always), else into a partial file beside
        `local`, renamed into place when complete. streams > 1: that many
        connections; resume: continue a download broken off earlier (its
        journaled partial); verify: check the bytes end to end with the
        server's SHA-256 (Mismatch, a ProtocolError, on a mismatch). A
        failure after data landed keeps the partial: the error's ``.kept``
        names it and its bytes, and resume=True continues it. Returns the
        file's size."""
        try:
            self._n.download(_b(remote), _local(local), streams, bufsz, resume, verify, whole_file, progress)
        except (NotFound, UsageError) as e:
            said = self._explain_get(remote, e)
            if said is e:
                raise
            raise said from e
        return os.path.getsize(local)

    def _explain_get(self, remote: PathLike, e: Error) -> Error:
        """A refused download said in words: FileNotFoundError for a name
        that does not exist, IsADirectoryError for a directory (get_tree
        downloads a directory); other refusals as they came."""
        try:
            exists = self._n.exists(_b(remote))
            is_dir = exists and self._n.stat(_b(remote))[0] == "dir"
        except Error:
            return e
        if not exists and not isinstance(e, NotFound):
            return NotFound(f"{_s(_b(remote))}: no such file on the server", e.code, e.text, e.command,
                            filename=_s(_b(remote)))
        if not is_dir:
            return e
        return IsADirectory(f"{_s(_b(remote))}: is a directory on the server; get_tree downloads a directory",
                            e.code, e.text, e.command, filename=_s(_b(remote)))

    def putfo(self, fo, remote: PathLike, *, bufsz: int = 1 << 20) -> int:
        """Uploads what a binary file object yields (anything with
        ``read(n)``: an open file, a pipe, a socket's makefile, BytesIO), or
        each bytes-like item of an iterable (a generator of chunks), as it
        comes: memory is bounded by the upload's window, not by the data.
        The remote file is replaced whole at the end (the server renames it
        into place), or left as it was if anything failed. Returns the bytes
        sent."""
        with self.open(remote, "wb") as f:
            if hasattr(fo, "read"):
                while True:
                    chunk = fo.read(bufsz)
                    if not chunk:
                        break
                    f.write(chunk)
            else:
                for chunk in fo:
                    if chunk:
                        f.write(chunk)
            return f.tell()

    def getfo(self, remote: PathLike, fo, *, offset: int = 0, progress: Optional[Progress] = None) -> int:
        """Downloads a remote file from ``offset`` into any binary writer
        (``write(b)``: an open file, sys.stdout.buffer, BytesIO) as it comes.
        Returns the bytes written. An exception of the writer is raised and
        ends the session (the rest of the file was still coming)."""
        try:
            return self._n.get_to(_b(remote), fo, offset, 4 << 20, progress)
        except (Refused, UsageError) as e:
            said = self._explain_get(remote, e)
            if said is e:
                raise
            raise said from e

    def _verify(self, local: PathLike, remote: PathLike) -> None:
        import hashlib

        h = hashlib.sha256()
        with open(local, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        theirs = self.sha256(remote)
        if h.hexdigest() != theirs:
            raise Mismatch(f"SHA-256 mismatch: local {h.hexdigest()}, server {theirs}")

    def read_bytes(self, remote: PathLike, offset: int = 0, length: Optional[int] = None) -> bytes:
        """GET of `length` bytes from `offset` (None: to the end). A
        directory raises IsADirectory (an IsADirectoryError), a missing
        file NotFound (a FileNotFoundError)."""
        try:
            return self._n.get_bytes(_b(remote), offset, length)
        except Refused as e:
            said = self._explain_get(remote, e)
            if said is e:
                raise
            raise said from e

    def write_bytes(self, remote: PathLike, data: bytes, offset: int = 0, overwrite: bool = True) -> None:
        """PUT of data at offset; at 0 the file replaced whole by the client
        engine's route for bytes in memory (what ``tf put`` of a file of
        them sends), read from the object itself; ``overwrite=False``
        refuses a file already there (FileExistsError)."""
        if offset == 0:
            _native.write_whole(self._n, _b(remote), _whole(data), overwrite)
        else:
            self._n.put_bytes(_b(remote), bytes(data), offset)

    def stage_bytes(self, remote: PathLike, data: bytes, overwrite: bool = True) -> Tuple[bytes, str, bool]:
        """``data`` into a stage of ``remote`` (tfd's staged uploads): not
        visible there until ``commit_staged`` of what this returns, and
        never when ``drop_staged`` gives it up."""
        return _native.stage_whole(self._n, _b(remote), _whole(data), overwrite)

    def commit_staged(self, staged: Tuple[bytes, str, bool]) -> None:
        """Puts a file ``stage_bytes`` staged in place (its SHA-256 checked)."""
        _native.stage_commit(self._n, *staged)

    def drop_staged(self, staged: Tuple[bytes, str, bool]) -> None:
        """Removes a file ``stage_bytes`` staged; its target stays as it was."""
        _native.stage_drop(self._n, staged[0])

    def sndfile(self, remote: PathLike, data: bytes, overwrite: bool = True) -> None:
        self._n.sndfile(_b(remote), bytes(data), overwrite)

    def rcvfile(self, remote: PathLike, delete: bool = False) -> bytes:
        return self._n.rcvfile(_b(remote), delete)

    def sup(self, remote: PathLike, data: bytes) -> None:
        self._n.sup(_b(remote), bytes(data))

    def sdown(self, remote: PathLike) -> bytes:
        return self._n.sdown(_b(remote))

    def putcan(self, remote: PathLike, data, offset: int = 0, *, canpt: int = 1, bufsz: int = 4 << 20,
               on: Optional[CanCallback] = None) -> Tuple[str, int]:
        """PUTCAN: writes `data` (bytes, or a binary reader) at `offset` in
        place, the server answering after every `canpt` chunks whether its
        writes went well. ``on(kind, n, total)`` hears each step: "granted"
        (n: the granted chunk size), "chunk" (n: its length), "window",
        "data_end"; it may answer "end", "stop" (the server keeps what came) or
        "cancel" (the server deletes the file). Returns (how, bytes sent): how
        is "completed" or that answer. A server that could not write raises
        Cancelled at the next window; with canpt 0 it cannot tell."""
        src = io.BytesIO(bytes(data)) if isinstance(data, (bytes, bytearray, memoryview)) else data
        return self._n.putcan(_b(remote), src, offset, bufsz, canpt, on)

    def getcan(self, remote: PathLike, sink, offset: int = 0, *, canpt: int = 1, bufsz: int = 4 << 20,
               on: Optional[CanCallback] = None) -> Tuple[str, int]:
        """GETCAN: writes the file from `offset` to the binary writer `sink`,
        the server waiting after every `canpt` chunks for leave to go on.
        ``on(kind, n, total)`` hears "granted", each "chunk" and each
        "window", and may answer "stop" (or "end", "cancel"): the server stops
        at the next window, what it still sends before is dropped. Returns
        (how, bytes written)."""
        return self._n.getcan(_b(remote), sink, offset, bufsz, canpt, on)

    def open(self, path: PathLike, mode: str = "rb") -> "RemoteFile":
        """A file object: "rb" reads ranges with GET; "wb" uploads as it is
        written (SNDFILE, memory bounded by a window of a few MiB, not the
        file) and the server puts the file in place when it is closed; an
        exception out of its ``with`` block gives the upload up and the old
        file stays. While a "wb" file is open it holds the session's
        connection: other calls of the session raise SessionBusy. "xb" is
        "wb" refused (Exists, a FileExistsError) when the file exists. "ab"
        appends as it is written, with PUT from the file's end (the
        protocol's PUT writes in place): what was sent stays even when the
        file is given up; it holds the connection as "wb" does."""
        if mode not in ("rb", "wb", "xb", "ab"):
            raise ValueError("mode must be 'rb', 'wb', 'xb' or 'ab'")
        return RemoteFile(self, path, mode)
