"""connect and the Session: lifecycle, files and directories, listings,
notifications and the commands of 2.5.1; the transfers and tree runs are its
bases (_transfers, _trees)."""

from __future__ import annotations

import os
import posixpath
from typing import Dict, Iterator, List, Optional, Tuple, Union

from . import _native
from ._errors import ConnectionError, Error, NotFound, Refused
from ._paths import PathLike, _b, _s
from ._records import Entry, FaiToken, Notification, Stat, _type_name
from ._transfers import _Transfers
from ._backups import _Backups
from ._trees import _TreeRuns


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
    identity: Union[PathLike, None] = None,
    passphrase: Union[str, bytes, None] = None,
    accept_new: bool = False,
    compress: Union[str, int, None] = None,
    bwlimit: Union[str, int, None] = None,
) -> "Session":
    """Opens a session with ``server`` ("host:port").

    key: the server's public key file (PEM), or key_pem its text; without
    either, the key pinned for the server in tf's known servers file
    ($XDG_CONFIG_HOME/tf/known_servers, else ~/.config/tf/known_servers),
    and a server not in it is refused unless ``accept_new=True`` pins the key
    it sends (a key other than the pinned one raises HostKeyError naming
    both fingerprints and the line to remove);
    hash: the application hash; user/password: LOGIN on a multi-user server,
    after the keys of ``identity`` (an OpenSSH private key file, alone), else
    of ssh-agent (SSH_AUTH_SOCK) then ~/.ssh/id_ed25519, id_ecdsa, id_rsa, as
    tf offers them (without a password, a key must log in); without user, the
    same keys go to a single-user server that asks for a key login (its
    tfd.conf's authorized_keys); passphrase: the identity file's;
    jail: (token, dir) for INJAIL; transport: "secure" (tfd's secure transport
    or no session), "legacy" (the protocol's own ciphers) or "prefer";
    proto: "2.4.1" (default) or "2.5.1"; fai: a FaiToken from Session.faitok();
    compress: "auto" (the default: measured), "yes", "no" or a level 1..19,
    as tf's --compress;
    bwlimit: at most this many bytes a second each way for the session and
    every connection it opens (a tree's jobs, a transfer's streams), shared:
    an int is bytes a second, a str is read as tf's --bwlimit reads it
    ("2M", "500K", "1.5G"; a plain number is KiB a second, as rsync's).
    """
    if isinstance(key_pem, str):
        key_pem = key_pem.encode()
    if isinstance(password, str):
        password = password.encode()
    if isinstance(passphrase, str):
        passphrase = passphrase.encode()
    native = _native.connect(
        server, hash, key_pem=key_pem, key_file=_file(key), user=user, password=password,
        jail=(jail[0], jail[1]) if jail else None, transport=transport, aes=aes, timeout=timeout,
        proto=proto, fai=fai._tuple() if fai else None, identity=_file(identity),
        passphrase=passphrase, accept_new=accept_new,
        compress=_compress(compress),
        bwlimit=_bwlimit(bwlimit),
    )
    return Session(native)


def _bwlimit(rate: Union[str, int, None]) -> Optional[str]:
    """bwlimit= as tfp-client reads it: an int is bytes a second."""
    if isinstance(rate, int) and not isinstance(rate, bool):
        return f"{rate}B" if rate else None
    return None if rate is None else str(rate)


def _compress(choice: Union[str, int, None]) -> Optional[str]:
    """compress= as tfp-client reads it (True and False: "yes" and "no")."""
    if choice is True or choice is False:
        return "yes" if choice else "no"
    return None if choice is None else str(choice)


def _file(path: Union[PathLike, None]) -> Optional[str]:
    """A local path argument as the binding takes it."""
    if path is None:
        return None
    f = os.fspath(path)
    return os.fsdecode(f) if isinstance(f, bytes) else f



def _listed_kind(code: int) -> str:
    """An archive listing's file type as a listing's kind (LS's and
    TFDLIST's: a symlink, device, FIFO or socket is "other")."""
    name = _type_name(code)
    return name if name in ("dir", "file") else "other"

class Session(_Transfers, _TreeRuns, _Backups):
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
        """RENAM. The server's FAILED 31 (an invalid renaming) is said as
        NotFound (a FileNotFoundError, as os.rename's) when the source, or
        the directory the new name is in, does not exist."""
        try:
            self._n.rename(_b(old), _b(new))
        except Refused as e:
            if e.code != 31 or isinstance(e, NotFound):
                raise
            o, n = _s(_b(old)), _s(_b(new))
            parent = posixpath.dirname(n.rstrip("/"))
            try:
                missing = o if not self._n.exists(_b(old)) else \
                    parent if parent and not self._n.exists(_b(parent)) else None
            except Error:
                missing = None
            if missing is None:
                raise
            raise NotFound(f"{missing}: no such file or directory on the server", e.code, e.text, e.command,
                           filename=o, filename2=n) from e

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
        stat=True adds size and mtime from one exchange where the server
        has it: TFDDIRENTRIES (the directory's own entries) or, with
        recursive=True, TFDLIST (every entry below the directory, a listing
        of about 40 bytes an entry: what ``find`` lists too); otherwise
        FSTATs sent without waiting for each answer (size and mtime None
        for an entry gone since it was listed)."""
        base = _s(_b(path)).rstrip("/")

        def full(name: str) -> str:
            return posixpath.join(base, name) if base else name

        if stat and not recursive:
            level = _native.list_dir_entries(self._n, _b(path))
            if level is not None:
                return [Entry(_s(rel), full(_s(rel)), _listed_kind(code), size, sec)
                        for code, rel, size, _mode, (sec, _nsec), _target, _owner in level if rel]
        if stat:
            listed = _native.list_stat(self._n, _b(path))
            if listed is not None:
                return [Entry(_s(rel), full(_s(rel)), kind, size, mtime) for kind, rel, size, mtime in listed
                        if recursive or b"/" not in rel]
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
