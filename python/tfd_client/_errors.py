"""The exception hierarchy: every error of tfd_client is a tfd_client.Error.

Refusals of the server (``FAILED n : text``) are mapped from their code to a
subclass; each exception carries ``.code`` (the number, or None) and ``.text``
(the server's text, or a description). The classes a Python program already
catches are their bases too: ``NotFound`` is a ``FileNotFoundError``,
``PermissionDenied`` a ``PermissionError``, ``Exists`` a ``FileExistsError``,
``IsADirectory`` an ``IsADirectoryError``, ``NotADirectory`` a
``NotADirectoryError``, ``QuotaExceeded`` an ``OSError`` (ENOSPC, or EDQUOT
for a user's quota), ``DirectoryNotEmpty`` an ``OSError`` (ENOTEMPTY),
``SessionClosed`` a ``ConnectionError``; each with ``.errno`` set. Every
refusal is an OSError (``Refused`` itself, errno EIO where the status names
no cause) with ``.filename`` (and ``.filename2``) the path the call was about,
and so is a tree run's ``TreeError`` (its source and destination):
``_from_native`` below builds every exception the binding and the tree runs
raise."""

from __future__ import annotations

import builtins
import errno as _errno
import os
from typing import Dict, Optional, Tuple, Type


class Error(Exception):
    """Root of every tfd_client error. ``.kept`` is, for a download that failed
    after data landed, ``(partial_path, bytes)``: the partial ``resume=True``
    continues (None otherwise). The OSError subclasses carry ``filename``
    (and ``filename2`` for a second path: a rename's, a copy's target), the
    path the call was about, which the message names too."""

    kept: Optional[Tuple[str, int]] = None
    #: the errno of the OSError family this class belongs to (None: not one)
    _errno: Optional[int] = None

    def __init__(self, message: str = "", code: Optional[int] = None, text: str = "", command: str = "",
                 filename: Optional[str] = None, filename2: Optional[str] = None):
        if filename is not None and message and filename not in message:
            message = f"{message}: {filename!r}" + (f" -> {filename2!r}" if filename2 is not None else "")
        super().__init__(message or text)
        self.code = code
        self.text = text or message
        self.command = command
        if isinstance(self, OSError):
            self.filename, self.filename2 = filename, filename2
            if self._errno is not None:
                self.errno = self._errno
                self.strerror = os.strerror(self._errno)

    def __str__(self) -> str:
        # the sentence, also for the OSError subclasses (whose str would be
        # "[Errno n] strerror")
        return str(self.args[0]) if self.args else ""


TfdError = Error


class Refused(Error, OSError):
    """The server refused the command (FAILED n or UNKNOWN): the generic case,
    an OSError with errno EIO where the status names no cause the OSError
    family has (its subclasses name theirs)."""

    _errno = _errno.EIO


class NotFound(Refused, builtins.FileNotFoundError):
    """No such file, directory or source (FAILED 9, 10, 17, ...): a FileNotFoundError."""

    _errno = _errno.ENOENT


class PermissionDenied(Refused, builtins.PermissionError):
    """Access denied, login failed, not logged in, ... (FAILED 1, 37, 38, ...):
    a PermissionError."""

    _errno = _errno.EACCES


class Exists(Refused, builtins.FileExistsError):
    """The file or directory exists (FAILED 4, 12): a FileExistsError."""

    _errno = _errno.EEXIST


class Locked(Refused):
    """The directory is locked (FAILED 30)."""


class QuotaExceeded(Refused, OSError):
    """The disk or the user's quota is full (FAILED 13): an OSError with errno ENOSPC, or EDQUOT when the
    server names a quota."""

    _errno = _errno.ENOSPC


class IsADirectory(Refused, builtins.IsADirectoryError):
    """A directory where a file is required (FAILED 8, or a get of a
    directory): an IsADirectoryError."""

    _errno = _errno.EISDIR


class NotADirectory(Refused, builtins.NotADirectoryError):
    """A file where a directory is required (FAILED 20): a NotADirectoryError."""

    _errno = _errno.ENOTDIR


class UnknownCommand(Refused):
    """The server does not know the command (UNKNOWN)."""


class TreeError(Error, OSError):
    """A tree run (put_tree, get_tree, mirror) did not do everything asked:
    ``.report`` (a TreeReport) says what moved and ``.report.failures`` what
    failed; the first failure is the message. An OSError with errno EIO
    (the run's failures are many, each named in the report), ``filename``
    the source tree and ``filename2`` the destination."""

    _errno = _errno.EIO
    report = None


class BackupError(Error, OSError):
    """A backup, a listing of snapshots or a restore did not do what it was
    asked (no complete snapshot made, no such snapshot, a restore that does
    not match the snapshot's index); the message says why in tf's words.
    An OSError with errno EIO."""

    _errno = _errno.EIO


class Declined(Error, OSError):
    """A command without a status (SUP, SDOWN, INTREAD, INTWRITE, FSIZE) got the
    server's negative answer; ``.code`` is that answer (-1, -2). An OSError
    with errno EIO: the answer names no cause."""

    _errno = _errno.EIO


class ConnectionError(Error, builtins.ConnectionError):
    """Connecting failed or the connection broke: the session is unusable.
    ``.unanswered`` is True when it broke before any byte of the call's
    answer came (a server restarted or gone): a call that only reads may be
    sent again over a fresh session, as the tf:// filesystem does once."""

    unanswered = False


class SessionClosed(ConnectionError):
    """A call of a session that is closed: by ``close()``, by a Ctrl-C (a
    KeyboardInterrupt ends the session of the operation it stopped), or by a
    connection that broke. The message says which; connect again."""


class HandshakeError(Error):
    """The server refused a handshake step (version, hash, login, injail, fai,
    secure transport); ``.code`` is its FAILED code when it gave one."""


class AuthenticationError(HandshakeError, PermissionDenied):
    """LOGIN or INJAIL refused."""


class HostKeyError(HandshakeError):
    """The server's key, when connect() was given none: the server is not in
    tf's known servers file and ``accept_new`` was not given, or it offers a
    key other than the one pinned for it (the message names both
    fingerprints and the file and line of the pin)."""


class PublicKeyError(Error, ValueError):
    """The server's public key could not be used (a file that is no PEM
    public key, or one the handshake could not use)."""


#: the name this class had before 0.2 (kept so old code still imports)
KeyError_ = PublicKeyError


class DirectoryNotEmpty(Error, OSError):
    """``rmdir`` of a directory that holds entries: nothing was removed
    (``rmtree`` removes a directory and everything in it). An OSError with
    errno ENOTEMPTY; ``.entries`` is how many the directory holds."""

    _errno = _errno.ENOTEMPTY
    entries = 0


class ProtocolError(Error):
    """The server answered something the protocol does not allow here."""


class Mismatch(ProtocolError):
    """What was received is not what the server said it is (its SHA-256, twice,
    or its announced size), or the file changed on the server while it was
    read; the target was left as it was."""


class Cancelled(Error, OSError):
    """The server cancelled a transfer it had started: its read or write failed
    (a full disk, a quota). The session goes on. An OSError with errno EIO."""

    _errno = _errno.EIO


class UsageError(Error, ValueError):
    """The operation cannot be carried out as asked (a download of a name that
    is not a regular file on the server); nothing was changed."""


class LocalError(Error, OSError):
    """Reading or writing a local file failed."""


class SessionBusy(Error, RuntimeError):
    """A call of a session while another call of the same session runs: from
    one of its callbacks (a progress or PUTCAN/GETCAN callback, a file object
    PUTCAN reads from), or from another thread. Raised at once, never waited
    for (from a callback the wait would never end); the running call goes on.
    Call again once it has returned, or use a session of its own."""


NOT_FOUND = {9, 10, 17}
PERMISSION = {1, 3, 37, 38, 42, 43, 49, 50}
EXISTS = {4, 12}
LOCKED = {30}
QUOTA = {13}

CLASS_BY_CODE: Dict[int, Type[Refused]] = {}
for _c in NOT_FOUND:
    CLASS_BY_CODE[_c] = NotFound
for _c in PERMISSION:
    CLASS_BY_CODE[_c] = PermissionDenied
for _c in EXISTS:
    CLASS_BY_CODE[_c] = Exists
CLASS_BY_CODE[30] = Locked
CLASS_BY_CODE[13] = QuotaExceeded
CLASS_BY_CODE[8] = IsADirectory
CLASS_BY_CODE[20] = NotADirectory


def _from_native(kind: str, code: Optional[int], command: str, text: str, message: str,
                 filename=None, filename2=None) -> Error:
    """Called by the binding: the exception for a tfp_client::Error, the
    one place a failure becomes one. ``filename``/``filename2``: the paths
    the call was about (bytes or os.PathLike), given to every OSError."""
    filename = os.fsdecode(filename) if filename is not None else None
    filename2 = os.fsdecode(filename2) if filename2 is not None else None
    return _exception(kind, code, command, text, message, filename, filename2)


def _exception(kind: str, code: Optional[int], command: str, text: str, message: str,
               filename: Optional[str], filename2: Optional[str]) -> Error:
    named = {"filename": filename, "filename2": filename2}
    if kind == "refused":
        if code is None:
            return UnknownCommand(message, code, text, command, **named)
        e = CLASS_BY_CODE.get(code, Refused)(message, code, text, command, **named)
        if isinstance(e, QuotaExceeded) and "quota" in text.lower():
            e.errno = _errno.EDQUOT
        return e
    if kind == "tree":
        return TreeError(message, None, text, command, **named)
    if kind == "backup":
        return BackupError(message, None, text, command, **named)
    if kind == "declined":
        return Declined(message, code, text, command, **named)
    if kind == "channel":
        e = ConnectionError(message, None, text, command, **named)
        if code:
            e.errno, e.strerror = code, os.strerror(code)
        return e
    if kind == "handshake":
        if command in ("login", "key login", "injail"):
            return AuthenticationError(message, code, text, command)
        return HandshakeError(message, code, text, command)
    if kind == "hostkey":
        return HostKeyError(message, None, text, command)
    if kind == "key":
        return PublicKeyError(message, None, text, command)
    if kind == "closed":
        return SessionClosed(message, None, text, command)
    if kind == "notempty":
        e = DirectoryNotEmpty(message, None, text, command, **named)
        e.entries = code or 0
        return e
    if kind == "protocol":
        return ProtocolError(message, None, text, command)
    if kind == "mismatch":
        return Mismatch(message, None, text, command)
    if kind == "cancelled":
        return Cancelled(message, None, text, command, **named)
    if kind == "usage":
        return UsageError(message, None, text, command)
    if kind == "busy":
        return SessionBusy(message, None, text, command)
    if kind == "local":
        e = LocalError(message, code, text, command, **named)
        e.errno = code
        if code:
            e.strerror = os.strerror(code)
        return e
    return Error(message, code, text, command)
