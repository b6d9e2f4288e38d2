"""tfd_client: a TF Protocol client for Python on tfd's Rust client library.

    import tfd_client
    with tfd_client.connect("127.0.0.1:10345", key="public.pem", hash="app-hash") as s:
        s.mkdir("reports")
        s.put("q1.csv", "reports/q1.csv")
        for e in s.listdir("reports"):
            print(e.kind, e.name, e.size)

Every command goes through tfp-client (the binding ``tfd_client._native``);
the GIL is released while it waits on the network, so threads can run
sessions side by side. Errors are ``tfd_client.Error`` subclasses.
"""

from __future__ import annotations

import io
import os
import posixpath
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _native
from ._errors import (
    AuthenticationError,
    Cancelled,
    ConnectionError,
    Declined,
    DirectoryNotEmpty,
    Error,
    Exists,
    HandshakeError,
    IsADirectory,
    KeyError_,
    LocalError,
    Locked,
    Mismatch,
    NotADirectory,
    NotFound,
    PermissionDenied,
    ProtocolError,
    PublicKeyError,
    QuotaExceeded,
    Refused,
    SessionBusy,
    SessionClosed,
    TfdError,
    TreeError,
    UnknownCommand,
    UsageError,
)

__all__ = [
    "connect", "Session", "Entry", "Stat", "FaiToken", "RemoteFile",
    "Error", "Refused", "NotFound", "PermissionDenied", "Exists", "Locked",
    "QuotaExceeded", "IsADirectory", "NotADirectory", "UnknownCommand", "Declined",
    "ConnectionError", "SessionClosed", "HandshakeError", "AuthenticationError", "PublicKeyError",
    "ProtocolError", "Mismatch", "Cancelled", "UsageError", "LocalError", "TreeError", "TreeReport",
    "SessionBusy", "DirectoryNotEmpty", "TfdError",
    "FILE_TYPES", "Notification",
]

__version__ = "0.1.0"

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


@dataclass(frozen=True)
class TreeReport:
    """What a tree run (put_tree, get_tree, mirror) did.

    ``transferred`` files moved (a dry run: to move); ``deleted`` and
    ``unchanged`` a mirror's extras removed and files found the same;
    ``failures`` what failed, as (fault, text) with fault "local" (here: a
    file, a directory, the connection) or "refused" (by the server);
    ``notes`` what was left out on purpose or worth telling; ``kept`` the
    partial downloads kept for ``resume=True`` as (path, bytes); ``planned``
    a dry run's steps as (step, relative path), step one of "delete",
    "replace", "mkdir", "copy"."""

    transferred: int
    deleted: int
    unchanged: int
    failures: List[Tuple[str, str]]
    notes: List[str]
    kept: List[Tuple[str, int]]
    planned: List[Tuple[str, str]]

    @property
    def ok(self) -> bool:
        return not self.failures


# FTYPE's answers by the document's byte (0 to 7).
FILE_TYPES = ("dir", "chardev", "blockdev", "file", "fifo", "symlink", "socket", "other")


def _type_name(code: int) -> Optional[str]:
    return FILE_TYPES[code] if 0 <= code < len(FILE_TYPES) else None


def _filters(exclude: Sequence[str], include: Sequence[str]) -> List[Tuple[bool, str]]:
    if isinstance(exclude, str) or isinstance(include, str):
        raise TypeError("exclude and include take a sequence of patterns, not one string")
    return [(True, p) for p in include] + [(False, p) for p in exclude]


def _tree(run: "_native.TreeRun") -> TreeReport:
    failures = [(k, t) for k, t in run.said if k != "note"]
    r = TreeReport(
        transferred=run.transferred,
        deleted=run.deleted,
        unchanged=run.unchanged,
        failures=failures,
        notes=[t for k, t in run.said if k == "note"],
        kept=[(os.fspath(p), n) for p, n in run.kept],
        planned=[(step, _s(rel)) for step, rel in run.planned],
    )
    if failures or run.stopped or run.local or run.refused:
        raise TreeError(r)
    return r


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


def connect(
    server: str,
    *,
    key: Union[PathLike, None] = None,
    key_pem: Union[bytes, str, None] = None,
    hash: str,
    user: Optional[str] = None,
    password: Union[str, bytes, None] = None,
    jail: Optional[Tuple[str, str]] = None,
    transport: str = "prefer",
    aes: bool = False,
    timeout: Optional[float] = 30.0,
    proto: Optional[str] = None,
    fai: Optional[FaiToken] = None,
) -> "Session":
    """Opens a session with ``server`` ("host:port").

    key: the server's public key file (PEM), or key_pem its text;
    hash: the application hash; user/password: LOGIN on a multi-user server;
    jail: (token, dir) for INJAIL; transport: "secure" (tfd's secure transport
    or no session), "legacy" (the protocol's own ciphers) or "prefer";
    proto: "2.4.1" (default) or "2.5.1"; fai: a FaiToken from Session.faitok().
    """
    if isinstance(key_pem, str):
        key_pem = key_pem.encode()
    if isinstance(password, str):
        password = password.encode()
    key_file = os.fspath(key) if key is not None else None
    if isinstance(key_file, bytes):
        key_file = os.fsdecode(key_file)
    native = _native.connect(
        server, hash, key_pem=key_pem, key_file=key_file, user=user, password=password,
        jail=(jail[0], jail[1]) if jail else None, transport=transport, aes=aes, timeout=timeout,
        proto=proto, fai=fai._tuple() if fai else None,
    )
    return Session(native)


class Session:
    """A connected session; use it as a context manager (END on exit).

    Paths are str (or bytes), relative to the server's root (or jail)."""

    def __init__(self, native: "_native.Session"):
        self._n = native

    # --- lifecycle -------------------------------------------------------
    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Ends the session (END) and closes the connection."""
        try:
            self._n.end()
        except ConnectionError:
            self._n.close()

    @property
    def closed(self) -> bool:
        return self._n.closed

    @property
    def secure(self) -> bool:
        """Whether tfd's secure transport carries the session."""
        return self._n.secure

    @property
    def transport(self) -> str:
        return self._n.transport

    @property
    def native(self) -> "_native.Session":
        """The binding's session object (every tfp-client method)."""
        return self._n

    # --- files and directories ------------------------------------------
    def mkdir(self, path: PathLike) -> None:
        self._n.mkdir(_b(path))

    def makedirs(self, path: PathLike) -> None:
        """RMKDIR: the directory and its missing parents."""
        self._n.rmkdir(_b(path))

    def remove(self, path: PathLike) -> None:
        """DEL."""
        self._n.delete(_b(path))

    unlink = remove

    def rmdir(self, path: PathLike) -> None:
        """Removes an empty directory, as os.rmdir does: a directory holding
        anything raises DirectoryNotEmpty (an OSError, errno ENOTEMPTY) and
        nothing is removed. rmtree removes a directory and all it holds."""
        self._n.rmdir(_b(path))

    def rmtree(self, path: PathLike) -> None:
        """RMDIR: removes the directory and everything in it (shutil.rmtree)."""
        self._n.rmtree(_b(path))

    def touch(self, path: PathLike) -> None:
        self._n.touch(_b(path))

    def fupd(self, path: PathLike) -> None:
        """FUPD: sets the file's mtime to now."""
        self._n.fupd(_b(path))

    def copy(self, src: PathLike, dst: PathLike) -> None:
        self._n.copy(_b(src), _b(dst))

    def copytree(self, src: PathLike, dst: PathLike) -> None:
        """CPDIR."""
        self._n.cpdir(_b(src), _b(dst))

    def rename(self, old: PathLike, new: PathLike) -> None:
        self._n.rename(_b(old), _b(new))

    def sha256(self, path: PathLike) -> str:
        """The file's SHA-256, lowercase hex."""
        return self._n.sha256(_b(path))

    def stat(self, path: PathLike) -> Stat:
        return Stat(*self._n.stat(_b(path)))

    def exists(self, path: PathLike) -> bool:
        return self._n.exists(_b(path))

    def size(self, path: PathLike) -> int:
        """FSIZE."""
        return self._n.fsize(_b(path))

    def freesp(self) -> int:
        return self._n.freesp()

    def lock(self, name: PathLike) -> None:
        self._n.lock(_b(name))

    def chmod(self, path: PathLike, mode: int) -> None:
        self._n.chmod(_b(path), mode)

    def chown(self, path: PathLike, user: str, group: str) -> None:
        self._n.chown(_b(path), user, group)

    # --- listings ---------------------------------------------------------
    def listdir(self, path: PathLike = "", *, recursive: bool = False, stat: bool = False) -> List[Entry]:
        """LS (LSR with recursive=True): the entries, names checked by tfp-client.
        stat=True adds size and mtime: with recursive=True from one TFDLIST
        (every entry with its size and mtime in one exchange) where the
        server has it, otherwise FSTATs sent without waiting for each answer
        (size and mtime None for an entry gone since it was listed)."""
        base = _s(_b(path)).rstrip("/")

        def full(name: str) -> str:
            return posixpath.join(base, name) if base else name

        if stat and recursive:
            listed = self._n.list_stat(_b(path))
            if listed is not None:
                return [Entry(_s(rel), full(_s(rel)), kind, size, mtime) for kind, rel, size, mtime in listed]
        entries = [(kind, _s(rel)) for kind, rel in self._n.listdir(_b(path), recursive)]
        if not stat:
            return [Entry(name, full(name), kind, None, None) for kind, name in entries]
        stats = self._n.stat_many([_b(full(name)) for _, name in entries])
        return [Entry(name, full(name), kind, st[1] if st else None, st[2] if st else None)
                for (kind, name), st in zip(entries, stats)]

    def walk(self, top: PathLike = "") -> Iterator[Tuple[str, List[str], List[str]]]:
        """Like os.walk, top-down, from one LSR."""
        base = _s(_b(top)).rstrip("/")
        dirs: Dict[str, Tuple[List[str], List[str]]] = {base: ([], [])}
        order = [base]
        for kind, rel in self._n.listdir(_b(top), True):
            name = _s(rel)
            parent, leaf = posixpath.split(name)
            pfull = posixpath.join(base, parent) if base and parent else (parent or base)
            dirs.setdefault(pfull, ([], []))
            if kind == "dir":
                full = posixpath.join(base, name) if base else name
                dirs[pfull][0].append(leaf)
                if full not in dirs:
                    dirs[full] = ([], [])
                order.append(full)
            else:
                dirs[pfull][1].append(leaf)
        seen = set()
        for d in order:
            if d in seen:
                continue
            seen.add(d)
            ds, fs = dirs[d]
            yield d, sorted(ds), sorted(fs)

    # --- transfers --------------------------------------------------------
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
                            e.code, e.text, e.command)
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
            + f"; makedirs({parent!r}) makes it", e.code, e.text, e.command)

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
            return NotFound(f"{_s(_b(remote))}: no such file on the server", e.code, e.text, e.command)
        if not is_dir:
            return e
        return IsADirectory(f"{_s(_b(remote))}: is a directory on the server; get_tree downloads a directory",
                            e.code, e.text, e.command)

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
        """GET of `length` bytes from `offset` (None: to the end)."""
        return self._n.get_bytes(_b(remote), offset, length)

    def write_bytes(self, remote: PathLike, data: bytes, offset: int = 0) -> None:
        """PUT of data at offset (SNDFILE replacing the file when offset is 0)."""
        if offset == 0:
            self._n.sndfile(_b(remote), bytes(data), True)
        else:
            self._n.put_bytes(_b(remote), bytes(data), offset)

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
        appends with PUT at the end."""
        if mode not in ("rb", "wb", "xb", "ab"):
            raise ValueError("mode must be 'rb', 'wb', 'xb' or 'ab'")
        return RemoteFile(self, path, mode)

    # --- trees ------------------------------------------------------------
    # The runs are tfp-client's (tfp_client::tree): what ``tf put -r``,
    # ``tf get -r`` and ``tf mirror`` run, with their messages word for word.

    def put_tree(self, local_dir: PathLike, remote_dir: PathLike, *, jobs: int = 4,
                 exclude: Sequence[str] = (), include: Sequence[str] = (),
                 progress: Optional[Progress] = None) -> TreeReport:
        """Uploads the contents of local_dir into remote_dir (made if missing),
        over ``jobs`` sessions. Every file is replaced whole or left as it was;
        files of 32 MiB and more go through a stage a later run continues.
        Symlinks are skipped (said in ``report.notes``). ``exclude``/``include``
        are rsync-style patterns (an include is tried before the excludes; the
        first match wins). Raises TreeError (with ``.report``) if any file
        failed; returns the TreeReport otherwise."""
        return _tree(self._n.copy_tree(True, [_local(local_dir)], _s(_b(remote_dir)), True, jobs, False,
                                       _filters(exclude, include), progress))

    def get_tree(self, remote_dir: PathLike, local_dir: PathLike, *, jobs: int = 4, resume: bool = False,
                 exclude: Sequence[str] = (), include: Sequence[str] = (),
                 progress: Optional[Progress] = None) -> TreeReport:
        """Downloads the contents of remote_dir into local_dir (made if
        missing). Every name the server lists is checked before it is used
        and lands only below local_dir; each file lands in a partial renamed
        over its name when whole. An interrupted run keeps its partials
        (``report.kept``) and ``resume=True`` continues them. Raises TreeError
        if any file failed."""
        return _tree(self._n.copy_tree(False, [_s(_b(remote_dir))], _local(local_dir), True, jobs, resume,
                                       _filters(exclude, include), progress))

    def mirror(self, src: PathLike, dst: PathLike, *, direction: str, delete: bool = False,
               checksum: bool = False, dry_run: bool = False, jobs: int = 4,
               exclude: Sequence[str] = (), include: Sequence[str] = (),
               progress: Optional[Progress] = None) -> TreeReport:
        """Makes ``dst`` a copy of ``src``, as ``tf mirror SRC DST`` does:
        ``direction="up"`` (a local src, a remote dst) or ``"down"`` (a remote
        src, a local dst), always named: there is no default that could
        delete the other way. New and changed files move (by size and
        mtime; ``checksum=True``: same-size files are compared by SHA-256),
        directories are made, and with ``delete=True`` what dst holds and src
        does not is removed. ``dry_run=True`` changes nothing and lists the
        steps in ``report.planned``. Raises TreeError if anything failed."""
        if direction == "up":
            s, d, up = _local(src), _s(_b(dst)), True
        elif direction == "down":
            s, d, up = _s(_b(src)), _local(dst), False
        else:
            raise ValueError(f"mirror: direction must be 'up' (local src to remote dst) or 'down' "
                             f"(remote src to local dst), not {direction!r}")
        return _tree(self._n.mirror(s, d, up, delete, checksum, dry_run, jobs,
                                    _filters(exclude, include), progress))

    def mirror_up(self, local_dir: PathLike, remote_dir: PathLike, **kw) -> TreeReport:
        """mirror(local_dir, remote_dir, direction="up", ...)."""
        return self.mirror(local_dir, remote_dir, direction="up", **kw)

    def mirror_down(self, remote_dir: PathLike, local_dir: PathLike, **kw) -> TreeReport:
        """mirror(remote_dir, local_dir, direction="down", ...)."""
        return self.mirror(remote_dir, local_dir, direction="down", **kw)

    # --- notifications ------------------------------------------------------
    def addntfy(self, token: Union[str, bytes], directory: PathLike) -> None:
        """ADDNTFY: once notifications start, tell of the files of directory
        whose names start with token (at most 7 bytes; "" for every file)."""
        self._n.addntfy(token.encode() if isinstance(token, str) else bytes(token), _b(directory))

    def notifications(self, interval: float = 0.0) -> Iterator["Notification"]:
        """STARTNTFY: the session serves notifications from here on, for good
        (no command is taken after it). Yields a Notification per file found,
        registrations in ADDNTFY order; answer each with .delete(), .keep()
        or .end() (unanswered: kept, and it comes again in a later pass).
        ``interval`` is the pause between the server's passes, in seconds
        (0: the server's default). Raises Refused if no ADDNTFY was made."""
        self._n.start_notifications(repr(float(interval)) if interval else "")
        while True:
            index, name = self._n.notification_wait()
            yield Notification(index, _s(bytes(name)), self._n)

    def echo(self, text: Union[str, bytes]) -> Union[str, bytes]:
        """ECHO: the server sends text back as it came (str in, str out)."""
        if isinstance(text, str):
            return bytes(self._n.echo(text.encode("utf-8"))).decode("utf-8", "replace")
        return bytes(self._n.echo(bytes(text)))

    def date(self) -> int:
        return self._n.date()

    def udate(self) -> float:
        return self._n.udate()

    def ndate(self) -> Tuple[int, int]:
        return self._n.ndate()

    def datef(self) -> str:
        return self._n.datef()

    def dtof(self, seconds: int) -> str:
        return self._n.dtof(seconds)

    def ftod(self, date: str) -> int:
        return self._n.ftod(date)

    def prockey(self) -> str:
        return self._n.prockey()

    def tlb(self) -> str:
        return self._n.tlb()

    def keepalive(self, on: bool = True, idle: int = 60, interval: int = 10, count: int = 5) -> None:
        self._n.keepalive(on, idle, interval, count)

    def faitok(self, minutes: int = 10) -> FaiToken:
        """FAITOK: a token for later FAI entrances (connect(fai=...))."""
        return FaiToken(*self._n.faitok(minutes))

    def next_fai_token(self) -> Optional[FaiToken]:
        t = self._n.next_fai_token()
        return FaiToken(*t) if t else None

    def goaes(self) -> None:
        self._n.goaes()

    def ciaon(self) -> str:
        return self._n.ciaon()

    def ciaoff(self) -> None:
        self._n.ciaoff()

    # --- 2.5.1 --------------------------------------------------------------
    def lsv2down(self, path: PathLike = "", recursive: bool = False) -> Tuple[List[bytes], bool]:
        return self._n.lsv2down(_b(path), recursive)

    def ftype(self, path: PathLike) -> Optional[str]:
        """FTYPE: what path names, one of FILE_TYPES ("dir", "chardev",
        "blockdev", "file", "fifo", "symlink", "socket", "other"), or None
        when the server cannot tell (no such path, outside the root, refused)."""
        return _type_name(self._n.ftype(_b(path)))

    def ftypels(self, list_file: PathLike) -> List[Optional[str]]:
        """FTYPELS: as ftype, for each path named (one a line) in the
        server-side file list_file; [] when the list cannot be read."""
        return [_type_name(t) for t in self._n.ftypels(_b(list_file))]

    def fsizels(self, list_file: PathLike) -> List[Optional[int]]:
        """FSIZELS: the size of each path named (one a line) in the
        server-side file list_file; None where the path is not a regular
        file or could not be read."""
        return [n if n >= 0 else None for n in self._n.fsizels(_b(list_file))]

    def intread(self, path: PathLike) -> Tuple[bytes, str]:
        data, h = self._n.intread(_b(path))
        return data, bytes(h).decode()

    def intwrite(self, path: PathLike, expected_sha256: str, data: bytes) -> None:
        self._n.intwrite(_b(path), expected_sha256.encode(), bytes(data))

    def fstatls(self, list_file: PathLike) -> List[Optional[Tuple[str, int, int, int]]]:
        """FSTATLS: (kind, size, atime, mtime) of each path named in the
        server-side file `list_file` (None where it could not be stat'ed)."""
        return self._n.fstatls_typed(_b(list_file))

    # Any command as one line through tfp-client's Client::call (the escape
    # hatch for commands without a method here): the OK's data returned as
    # text, a refusal raised.
    def call(self, name: str, *args: Union[str, bytes, int, float]) -> str:
        """Sends ``NAME arg...`` and returns the OK's data as text; FAILED and
        UNKNOWN raise the mapped tfd_client.Error."""
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return bytes(self._n.call(name, b" ".join(parts))).decode("utf-8", "replace")

    def netlock(self, timeout: float, path: PathLike) -> str:
        """NETLOCK (2.5.1): waits up to `timeout` s for the lock; returns its id."""
        return str(self._n.netlock(timeout, _b(path), True))

    def netlock_try(self, timeout: float, path: PathLike) -> str:
        return str(self._n.netlock(timeout, _b(path), False))

    def netunlock(self, lock_id: str) -> None:
        self._n.netunlock(str(lock_id))

    def netmutacq_try(self, path: PathLike, token: str) -> str:
        self._n.netmut(_b(path), str(token).encode(), False)
        return ""

    def netmutrel(self, path: PathLike, token: str) -> None:
        self._n.netmut(_b(path), str(token).encode(), True)

    def setfsid(self, identity: str) -> None:
        self._n.setfsid(identity)

    def setfsperm(self, secid: str, mask: int, path: PathLike) -> None:
        self._n.setfsperm(secid, mask, _b(path))

    def remfsperm(self, secid: str, path: PathLike) -> None:
        self._n.remfsperm(secid, _b(path))

    def getfsperm(self, secid: str, path: PathLike) -> str:
        return str(self._n.getfsperm(secid, _b(path)))

    def issecfs(self, path: PathLike) -> bool:
        """ISSECFS: True for a secure directory (the server's FAILED 60 is
        False; other refusals raise)."""
        return self._n.issecfs(_b(path))

    def locksys(self, path: PathLike) -> str:
        self._n.locksys(_b(path))
        return ""

    def gettz(self) -> str:
        return self._n.gettz()

    def settz(self, zone: str) -> None:
        self._n.settz(zone)

    def command(self, line: Union[str, bytes]) -> bytes:
        """Sends a command line as is and returns the reply frame (escape hatch)."""
        if isinstance(line, str):
            line = line.encode()
        return self._n.raw(line)


class RemoteFile(io.RawIOBase):
    """A remote file as a binary file object (Session.open). "wb" sends as it
    is written (the native upload); closing it puts the file in place, an
    exception out of its ``with`` block (or abort()) gives it up and the
    server keeps its old file."""

    def __init__(self, session: Session, path: PathLike, mode: str):
        super().__init__()
        self._s = session
        self._path = path
        self._mode = mode
        self._pos = 0
        self._buf = bytearray()
        self._up = None
        if mode == "rb":
            self._size = session.stat(path).size
        elif mode == "ab":
            self._pos = session.size(path) if session.exists(path) else 0
        else:
            try:
                self._up = session._n.upload(_b(path), mode != "xb")
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
        if self._up is not None:
            try:
                n = self._up.write(data)
            except Refused as e:
                said = self._s._explain_put(self._path, e)
                if said is e:
                    raise
                raise said from e
            self._pos += n
            return n
        self._buf += data
        return len(data)

    def abort(self) -> None:
        """Gives a "wb" upload up: the server discards what came and keeps
        its old file (or none). The session goes on."""
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
            elif self._mode == "ab" and self._buf:
                if self._pos == 0:
                    self._s.write_bytes(self._path, bytes(self._buf))
                else:
                    self._s._n.put_bytes(_b(self._path), bytes(self._buf), self._pos)
        finally:
            super().close()
