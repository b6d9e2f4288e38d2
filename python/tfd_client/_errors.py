"""The exception hierarchy: every error of tfd_client is a tfd_client.Error.

Refusals of the server (``FAILED n : text``) are mapped from their code to a
subclass; each exception carries ``.code`` (the number, or None) and ``.text``
(the server's text, or a description)."""

from __future__ import annotations

import builtins
from typing import Dict, Optional, Tuple, Type


class Error(Exception):
    """Root of every tfd_client error. ``.kept`` is, for a download that failed
    after data landed, ``(partial_path, bytes)``: the partial ``resume=True``
    continues (None otherwise)."""

    kept: Optional[Tuple[str, int]] = None

    def __init__(self, message: str = "", code: Optional[int] = None, text: str = "", command: str = ""):
        super().__init__(message or text)
        self.code = code
        self.text = text or message
        self.command = command


class Refused(Error):
    """The server refused the command (FAILED n or UNKNOWN): the generic case."""


class NotFound(Refused):
    """No such file, directory or source (FAILED 9, 10, 17, ...)."""


class PermissionDenied(Refused):
    """Access denied, login failed, not logged in, ... (FAILED 1, 37, 38, ...)."""


class Exists(Refused):
    """The file or directory exists (FAILED 4, 12)."""


class Locked(Refused):
    """The directory is locked (FAILED 30)."""


class QuotaExceeded(Refused):
    """The disk or the user's quota is full (FAILED 13)."""


class IsADirectory(Refused):
    """A directory where a file is required (FAILED 8)."""


class NotADirectory(Refused):
    """A file where a directory is required (FAILED 20)."""


class UnknownCommand(Refused):
    """The server does not know the command (UNKNOWN)."""


class TreeError(Error):
    """A tree run (put_tree, get_tree, mirror) did not do everything asked:
    ``.report`` (a TreeReport) says what moved and ``.report.failures`` what
    failed; the first failure is the message."""

    def __init__(self, report):
        first = report.failures[0][1] if report.failures else "the run stopped before it had a plan"
        more = len(report.failures) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))
        self.report = report


class Declined(Error):
    """A command without a status (SUP, SDOWN, INTREAD, INTWRITE, FSIZE) got the
    server's negative answer; ``.code`` is that answer (-1, -2)."""


class ConnectionError(Error, builtins.ConnectionError):
    """Connecting failed or the connection broke: the session is unusable."""


class HandshakeError(Error):
    """The server refused a handshake step (version, hash, login, injail, fai,
    secure transport); ``.code`` is its FAILED code when it gave one."""


class AuthenticationError(HandshakeError, PermissionDenied):
    """LOGIN or INJAIL refused."""


class KeyError_(Error):
    """The server's public key could not be used."""


class ProtocolError(Error):
    """The server answered something the protocol does not allow here."""


class Mismatch(ProtocolError):
    """What was received is not what the server said it is (its SHA-256, twice,
    or its announced size); the target was left as it was."""


class Cancelled(Error):
    """The server cancelled a transfer it had started: its read or write failed
    (a full disk, a quota). The session goes on."""


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


def _from_native(kind: str, code: Optional[int], command: str, text: str, message: str) -> Error:
    """Called by the binding: the exception for a tfp_client::Error."""
    if kind == "refused":
        if code is None:
            return UnknownCommand(message, code, text, command)
        return CLASS_BY_CODE.get(code, Refused)(message, code, text, command)
    if kind == "declined":
        return Declined(message, code, text, command)
    if kind == "channel":
        return ConnectionError(message, None, text, command)
    if kind == "handshake":
        if command in ("login", "injail"):
            return AuthenticationError(message, code, text, command)
        return HandshakeError(message, code, text, command)
    if kind == "key":
        return KeyError_(message, None, text, command)
    if kind == "protocol":
        return ProtocolError(message, None, text, command)
    if kind == "mismatch":
        return Mismatch(message, None, text, command)
    if kind == "cancelled":
        return Cancelled(message, None, text, command)
    if kind == "usage":
        return UsageError(message, None, text, command)
    if kind == "busy":
        return SessionBusy(message, None, text, command)
    if kind == "local":
        e = LocalError(message, code, text, command)
        e.errno = code
        return e
    return Error(message, code, text, command)
