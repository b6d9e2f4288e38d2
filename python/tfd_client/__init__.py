"""tfd_client: a TF Protocol client for Python on tfd's Rust client library.

    import tfd_client
    with tfd_client.connect("127.0.0.1:10345", key="public.pem", hash="app-hash") as s:
        s.mkdir("reports")
        s.put("q1.csv", "reports/q1.csv")
        for e in s.listdir("reports"):
            print(e.kind, e.name, e.size)

Without ``key``, the server's key is the one pinned in tf's known servers
file (``accept_new=True`` pins a new server's); with ``user``, the keys of
``identity=PATH``, else of ssh-agent and ~/.ssh, log in as tf's do.

Every command goes through tfp-client (the binding ``tfd_client._native``);
the GIL is released while it waits on the network, so threads can run
sessions side by side. Errors are ``tfd_client.Error`` subclasses.

This module is the package's door: the session (_session) with its
transfers (_transfers) and tree runs (_trees), the file object
(_remote_file), the values calls return (_records) and the errors (_errors)
each live in a module of their own.
"""

from __future__ import annotations

from ._errors import (
    AuthenticationError,
    BackupError,
    Cancelled,
    ConnectionError,
    Declined,
    DirectoryNotEmpty,
    Error,
    Exists,
    HandshakeError,
    HostKeyError,
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
from ._backups import Backup, Pruned, Snapshot, Verified
from ._paths import CanCallback, PathLike, Progress
from ._records import FILE_TYPES, Entry, FaiToken, Notification, Stat
from ._remote_file import RemoteFile
from ._session import Session, connect
from ._trees import Item, TreeReport

__all__ = [
    "connect", "Session", "Entry", "Stat", "FaiToken", "RemoteFile",
    "Error", "Refused", "NotFound", "PermissionDenied", "Exists", "Locked",
    "QuotaExceeded", "IsADirectory", "NotADirectory", "UnknownCommand", "Declined",
    "ConnectionError", "SessionClosed", "HandshakeError", "HostKeyError", "AuthenticationError", "PublicKeyError",
    "ProtocolError", "Mismatch", "Cancelled", "UsageError", "LocalError", "TreeError", "TreeReport", "Item",
    "SessionBusy", "DirectoryNotEmpty", "TfdError",
    "FILE_TYPES", "Notification", "BackupError", "Backup", "Snapshot", "Pruned", "Verified",
]

__version__ = "0.1.0"
