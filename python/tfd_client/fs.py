"""fsspec filesystem for tfd: protocol ``"tf"``, URLs ``tf://HOST:PORT/path``.

    import fsspec, pandas as pd
    opts = {"key": "tfd-demo/pub.pem", "hash": "..."}
    df = pd.read_csv("tf://127.0.0.1:10345/reports/q1.csv", storage_options=opts)
    fs = fsspec.filesystem("tf", host="127.0.0.1:10345", **opts)
    fs.put("site/", "www", recursive=True)

Installed with ``pip install tfd-client[fsspec]``; fsspec finds it through the
``fsspec.specs`` entry point. Storage options are ``connect()``'s keywords
plus ``host`` ("HOST:PORT", taken from the URL when it names one). Paths are
relative to the server's root (or jail): ``tf://h:p/a/b`` and ``a/b`` name the
same file.

Every operation is one of the library's (tfp-client through the binding):
``cat_file`` ranges are GETs, ``pipe_file`` the engine's route for bytes in
memory (what ``tf put`` of a file of them sends), ``open(..., "wb")``
uploads as it is written (a window of a few MiB, not the file) and puts the
file in place only when closed, ``get_file``/``put_file`` the library's
download and upload engines, ``get``/``put`` of a directory with
``recursive=True`` the library's tree runs (``tf get -r``/``put -r``: a pool
of sessions, files in batches), ``mv`` RENAM, ``cp_file`` COPY, ``rm`` DEL,
RMDIR (``recursive=True``) or rmdir (empty only), ``info`` a stat with what
tfd's archive listing (TFDENTRIES) says of the entry: its mode, mtime to the
nanosecond, owner and a link's target. One session serves the
filesystem instance; a file open for writing gets a session of its own, kept
for the next one. Calls from several threads take turns on the session. A
call that only reads (cat_file, ls, find, info, exists, checksum, a file's
ranges) is sent once more over a fresh session when the connection was lost
before any byte of its answer came (a server restarted since the last call);
one that changes something raises ConnectionError, and the next call
connects afresh.
``fs.transaction`` stages every file written inside it (``pipe_file``,
``open(..., "wb")``, ``put_file`` and ``put``, each held here whole until
staged; tfd's staged uploads, invisible until committed): at
the block's end they are put in place one after another, and when it raises
their stages are removed and nothing appears.
Errors are the builtin ones fsspec users catch (FileNotFoundError,
FileExistsError, ...: tfd_client's classes are those).
"""

from __future__ import annotations

import datetime
import os
import posixpath
import threading
from typing import Any, Dict, List, Optional

from fsspec.callbacks import DEFAULT_CALLBACK
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem
from fsspec.transaction import Transaction

from . import _native
from ._errors import ConnectionError, Error, IsADirectory
from ._paths import _b
from ._records import _type_name
from ._session import connect
from ._trees import _tree

_CONNECT_KEYS = ("key", "key_pem", "hash", "user", "password", "jail", "transport", "aes", "timeout", "proto",
                 "fai", "identity", "passphrase", "accept_new", "compress", "bwlimit")


def _kind(kind: str) -> str:
    return {"dir": "directory", "file": "file"}.get(kind, "other")


def _entry_info(e) -> Dict[str, Any]:
    """fsspec's info dict of a listed ``Entry``."""
    return {"name": e.path, "size": (e.size or 0) if e.kind == "file" else 0, "type": _kind(e.kind),
            "mtime": e.mtime}


class _Transaction(Transaction):
    """fsspec's transaction, which also keeps the list of the directories
    made for it (``TfFileSystem._tx_dirs``), removed when it is given up
    once every staged file is."""

    def __init__(self, fs, **kwargs):
        super().__init__(fs, **kwargs)
        fs._tx_dirs = []

    def start(self):
        self.fs._tx_dirs = []
        super().start()

    def complete(self, commit=True):
        fs = self.fs
        try:
            super().complete(commit)
        finally:
            if not commit and fs is not None:
                fs._unmake_tx_dirs()


class TfFileSystem(AbstractFileSystem):
    """A tfd server as an fsspec filesystem (see the module's text)."""

    protocol = "tf"
    root_marker = ""
    sep = "/"
    transaction_type = _Transaction
    _tx_dirs: List[str] = []

    def __init__(self, host: Optional[str] = None, **kwargs: Any):
        connect_kw = {k: kwargs.pop(k) for k in _CONNECT_KEYS if k in kwargs}
        super().__init__(**kwargs)
        if not host:
            raise ValueError("tf filesystem: host='HOST:PORT' (or a tf://HOST:PORT/... URL) is required")
        if "hash" not in connect_kw:
            raise ValueError("tf filesystem: hash= (the application hash) is required")
        self.host = host
        self._connect_kw = connect_kw
        self._lock = threading.RLock()
        self._session = connect(host, **connect_kw)
        self._spare: List[Any] = []

    # --- sessions -----------------------------------------------------------
    def _s(self):
        if self._session.closed:
            self._session = connect(self.host, **self._connect_kw)
        return self._session

    def _again(self, call):
        """``call(session)``, sent once more over a fresh session when the
        connection was lost before any byte of its answer came (a server
        restarted since the last call). For calls that only read (cat_file,
        ls, find, info, exists, checksum, a file's ranges): one that changes
        something is never sent twice, its ConnectionError is raised."""
        with self._lock:
            try:
                return call(self._s())
            except ConnectionError as e:
                if not e.unanswered:
                    raise
            return call(self._s())

    def _writer_session(self):
        with self._lock:
            while self._spare:
                s = self._spare.pop()
                if not s.closed:
                    return s
        return connect(self.host, **self._connect_kw)

    def _return_session(self, s) -> None:
        if s.closed:
            return
        with self._lock:
            if len(self._spare) < 4:
                self._spare.append(s)
                return
        s.close()

    def close(self) -> None:
        """Ends the filesystem's sessions."""
        with self._lock:
            for s in [self._session] + self._spare:
                try:
                    s.close()
                except Error:
                    pass
            self._spare = []

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # --- paths ----------------------------------------------------------------
    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith("tf://"):
            path = path[len("tf://"):]
            path = path.split("/", 1)[1] if "/" in path else ""
        elif path.startswith("tf::"):
            path = path[len("tf::"):]
        path = path.strip("/")
        return "" if path in (".", "") else posixpath.normpath(path)

    @staticmethod
    def _get_kwargs_from_urls(path):
        path = str(path)
        if path.startswith("tf://"):
            netloc = path[len("tf://"):].split("/", 1)[0]
            if netloc:
                return {"host": netloc}
        return {}

    def unstrip_protocol(self, name: str) -> str:
        return f"tf://{self.host}/{self._strip_protocol(name)}"

    # --- metadata -------------------------------------------------------------
    def info(self, path, **kwargs) -> Dict[str, Any]:
        """fsspec's info, with what the server's TFDDIRENTRIES listing of
        the parent says of the entry (tfd's archive listing of one
        directory level): ``mode`` (permission,
        set-id and sticky bits), ``mtime_ns`` (``mtime`` as a float of
        seconds), ``uid``/``gid``, and for a symbolic link ``islink`` and
        ``destination``, its target as stored (``type`` is the target's,
        "other" when it names nothing). A server without TFDENTRIES gives the
        stat alone."""
        path = self._strip_protocol(path)
        if path == "":
            return {"name": "", "size": 0, "type": "directory"}
        parent, name = posixpath.split(path)
        try:
            listed = self._again(lambda s: _native.list_dir_entries(s.native, _b(parent)))
        except Error:
            listed = None  # the stat says why, or what it is
        full = next((e for e in listed or () if e[1] == _b(name)), None)
        if full is None:
            return self._stat_info(path)
        code, _rel, size, mode, (sec, nsec), target, owner = full
        kind = _type_name(code)
        info = {"name": path, "size": size if kind == "file" else 0, "type": _kind(kind),
                "mtime": sec + nsec / 1e9, "mtime_ns": sec * 1_000_000_000 + nsec, "mode": mode,
                "islink": kind == "symlink"}
        if owner is not None:
            info["uid"], info["gid"] = owner
        if target is not None:
            info["destination"] = os.fsdecode(target)
            try:
                st = self._stat_info(path)
                info["type"], info["size"] = st["type"], st["size"]
            except FileNotFoundError:
                info["type"] = "other"
        return info

    def _stat_info(self, path: str) -> Dict[str, Any]:
        """info from one stat: the type, size and mtime in seconds."""
        if path == "":
            return {"name": "", "size": 0, "type": "directory"}
        st = self._again(lambda s: s.stat(path))
        return {"name": path, "size": st.size if st.kind == "file" else 0, "type": _kind(st.kind),
                "mtime": st.mtime}

    def ls(self, path, detail=True, **kwargs):
        """The directory's entries; with ``detail`` their sizes and mtimes
        from one listing of the directory alone (TFDDIRENTRIES), not a stat
        per entry nor a walk of the tree below."""
        path = self._strip_protocol(path)
        info = self._stat_info(path)
        if info["type"] != "directory":
            return [info] if detail else [path]
        entries = self._again(lambda s: s.listdir(path, stat=detail))
        return [_entry_info(e) if detail else e.path for e in entries]

    def find(self, path, maxdepth=None, withdirs=False, detail=False, **kwargs):
        """Every file below ``path`` (and directory, withdirs=True) from one
        recursive listing with sizes and mtimes (TFDLIST; LSR and pipelined
        FSTATs from a server without it), where fsspec's walk lists each
        directory and stats each entry in turn."""
        if maxdepth is not None:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        path = self._strip_protocol(path)
        try:
            top = self._stat_info(path)
        except FileNotFoundError:
            return {} if detail else []
        out = {}
        if top["type"] != "directory":
            out[path] = top
        else:
            if withdirs and path:
                out[path] = top
            entries = self._again(lambda s: s.listdir(path, recursive=True, stat=True))
            out.update((e.path, _entry_info(e)) for e in entries if withdirs or e.kind != "dir")
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def du(self, path, total=True, maxdepth=None, withdirs=False, **kwargs):
        """Sizes from ``find``'s one listing (fsspec's asks each file's info)."""
        if maxdepth is not None:
            return super().du(path, total=total, maxdepth=maxdepth, withdirs=withdirs, **kwargs)
        sizes = {n: i["size"] for n, i in self.find(path, withdirs=withdirs, detail=True).items()}
        return sum(sizes.values()) if total else sizes

    def exists(self, path, **kwargs) -> bool:
        path = self._strip_protocol(path)
        if path == "":
            return True
        return self._again(lambda s: s.exists(path))

    def created(self, path):
        raise NotImplementedError(
            "tf filesystem: the TF Protocol tells no creation time (FSTAT and tfd's listings give the "
            "modification time, FSTATLS the access time too): modified() is what the server can answer")

    def touch(self, path, truncate=True, **kwargs):
        """An empty file; with ``truncate=False`` an existing file keeps its
        data and gets its modification time set to now (TOUCH, or FUPD when
        the file exists)."""
        if truncate:
            return super().touch(path, truncate=True, **kwargs)
        path = self._strip_protocol(path)
        with self._lock:
            s = self._s()
            self._parent_made(path)
            try:
                s.touch(path)
            except FileExistsError:
                s.fupd(path)
        self.invalidate_cache(path)

    def modified(self, path):
        return datetime.datetime.fromtimestamp(self._stat_info(self._strip_protocol(path))["mtime"],
                                               tz=datetime.timezone.utc)

    def checksum(self, path):
        return int(self.ukey(path)[:32], 16)

    def ukey(self, path):
        path = self._strip_protocol(path)
        return self._again(lambda s: s.sha256(path))

    # --- directories ----------------------------------------------------------
    def mkdir(self, path, create_parents=True, **kwargs):
        path = self._strip_protocol(path)
        with self._lock:
            if create_parents:
                if not self._s().exists(path):
                    self._s().makedirs(path)
            else:
                self._s().mkdir(path)

    def makedirs(self, path, exist_ok=False):
        path = self._strip_protocol(path)
        if path == "":
            if exist_ok:
                return
            raise FileExistsError("the root exists")
        with self._lock:
            if self._s().exists(path):
                if exist_ok:
                    return
                raise FileExistsError(f"{path}: exists on the server")
            self._s().makedirs(path)

    def rmdir(self, path):
        with self._lock:
            self._s().rmdir(self._strip_protocol(path))

    def _parent_made(self, path: str) -> None:
        parent = posixpath.dirname(path)
        if parent and not self._s().exists(parent):
            if self._intrans:
                # made for the transaction: removed again if it is given up
                d = parent
                while d and not self._s().exists(d):
                    self._tx_dirs.append(d)
                    d = posixpath.dirname(d)
            self._s().makedirs(parent)

    # --- removal, moves, copies -------------------------------------------------
    def rm_file(self, path):
        with self._lock:
            self._s().remove(self._strip_protocol(path))

    def _rm(self, path):
        self.rm(path)

    def rm(self, path, recursive=False, maxdepth=None):
        paths = self.expand_path(path, recursive=False, maxdepth=maxdepth)
        with self._lock:
            for p in reversed(paths):
                st = self._s().stat(p)
                if st.kind == "dir":
                    if recursive:
                        self._s().rmtree(p)
                    else:
                        self._s().rmdir(p)
                else:
                    self._s().remove(p)
        self.invalidate_cache()

    def cp_file(self, path1, path2, **kwargs):
        p1, p2 = self._strip_protocol(path1), self._strip_protocol(path2)
        with self._lock:
            if self._s().stat(p1).kind == "dir":
                if not self._s().exists(p2):
                    self._s().makedirs(p2)
                return
            self._parent_made(p2)
            self._s().copy(p1, p2)

    def mv(self, path1, path2, recursive=False, maxdepth=None, **kwargs):
        if isinstance(path1, str) and isinstance(path2, str) and not self._has_magic(path1):
            p1, p2 = self._strip_protocol(path1), self._strip_protocol(path2)
            if p1 == p2:
                return
            with self._lock:
                if self._s().exists(p2) and self._s().stat(p2).kind == "dir":
                    p2 = posixpath.join(p2, posixpath.basename(p1))
                # as os.rename and fsspec's local mv: a missing parent of
                # the destination is FileNotFoundError, not made
                self._s().rename(p1, p2)
            self.invalidate_cache()
            return
        super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)

    @staticmethod
    def _has_magic(p: str) -> bool:
        return any(c in p for c in "*?[")

    # --- data -------------------------------------------------------------------
    def cat_file(self, path, start=None, end=None, **kwargs) -> bytes:
        path = self._strip_protocol(path)
        return self._again(lambda s: self._cat(s, path, start, end))

    @staticmethod
    def _cat(s, path: str, start, end) -> bytes:
        """cat_file's reads on the session ``s``."""
        if start is None and end is None:
            # sized by an FSTAT sent with the GET: two round trips, and
            # the data lands in the bytes returned
            return s.read_bytes(path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = s.stat(path).size
            start = size + start if start is not None and start < 0 else start
            end = size + end if end is not None and end < 0 else end
        start = max(start or 0, 0)
        if end is None:
            return s.read_bytes(path, start)
        if end <= start:
            return b""
        return s.read_bytes(path, start, end - start)

    def pipe_file(self, path, value, mode="overwrite", **kwargs):
        """The bytes as one file, by the client engine's route for bytes in
        memory (what ``tf put`` of a file of them sends); inside
        ``fs.transaction`` staged, to appear at the block's end."""
        path = self._strip_protocol(path)
        overwrite = mode != "create"
        with self._lock:
            s = self._s()
            self._parent_made(path)
            if self._intrans:
                self.transaction.files.append(_Staged(self, s.stage_bytes(path, value, overwrite)))
                return
            s.write_bytes(path, value, overwrite=overwrite)
        self.invalidate_cache(path)

    def _commit_staged(self, staged) -> None:
        with self._lock:
            self._s().commit_staged(staged)
        self.invalidate_cache(os.fsdecode(staged[0]))

    def _drop_staged(self, staged) -> None:
        with self._lock:
            self._s().drop_staged(staged)

    def _unmake_tx_dirs(self) -> None:
        """Removes the directories a given-up transaction made, deepest
        first, each only when empty."""
        with self._lock:
            for d in sorted(set(self._tx_dirs), key=lambda d: -d.count("/")):
                try:
                    self._s().rmdir(d)
                except (Error, OSError):
                    pass
            self._tx_dirs = []

    def get_file(self, rpath, lpath, callback=DEFAULT_CALLBACK, outfile=None, **kwargs):
        rpath = self._strip_protocol(rpath)
        if outfile is not None:
            with self._lock:
                self._s().getfo(rpath, outfile, progress=callback.absolute_update)
            return
        if self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        parent = os.path.dirname(os.fspath(lpath))
        if parent:
            os.makedirs(parent, exist_ok=True)
        with self._lock:
            s = self._s()
            callback.set_size(s.stat(rpath).size)
            s.get(rpath, lpath, progress=callback.absolute_update)

    def put_file(self, lpath, rpath, callback=DEFAULT_CALLBACK, mode="overwrite", **kwargs):
        rpath = self._strip_protocol(rpath)
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        with self._lock:
            s = self._s()
            if mode == "create" and s.exists(rpath):
                raise FileExistsError(f"{rpath}: exists on the server")
            callback.set_size(os.path.getsize(lpath))
            self._parent_made(rpath)
            if self._intrans:
                with open(lpath, "rb") as f:
                    staged = s.stage_bytes(rpath, f.read(), mode != "create")
                self.transaction.files.append(_Staged(self, staged))
                callback.absolute_update(callback.size)
                return
            s.put(lpath, rpath, progress=callback.absolute_update)
        self.invalidate_cache(rpath)

    # --- trees: the library's tree runs -------------------------------------
    # fsspec's own get/put expand the source into a list of files (a listing
    # per directory) and move them one by one; a whole directory goes to the
    # library's tree run instead (tfp_client::tree::copy, what `tf get -r`
    # and `tf put -r` run: a pool of `tree_jobs` sessions, files in batches
    # of TFDPUTMANY/TFDGETMANY, each file replaced whole or left as it was).
    # The destination is fsspec's: into dst/NAME when dst is an existing
    # directory (or ends with "/") and the source does not end with "/",
    # into dst itself otherwise. Anything else (a file, a list, a glob,
    # maxdepth) is fsspec's way.
    tree_jobs = 4

    def put(self, lpath, rpath, recursive=False, callback=DEFAULT_CALLBACK, maxdepth=None, **kwargs):
        if not (recursive and maxdepth is None and not kwargs and not self._intrans and isinstance(lpath, str)
                and isinstance(rpath, str) and not self._has_magic(lpath) and os.path.isdir(lpath)):
            return super().put(lpath, rpath, recursive=recursive, callback=callback, maxdepth=maxdepth, **kwargs)
        into = rpath.endswith("/") or self.isdir(rpath)
        dest = self._strip_protocol(rpath)
        if into and not lpath.endswith(("/", os.sep)):
            dest = posixpath.join(dest, os.path.basename(os.path.normpath(lpath))) if dest else \
                os.path.basename(os.path.normpath(lpath))
        self.makedirs(dest, exist_ok=True)
        self._tree_run(True, os.path.normpath(lpath), dest, callback)
        self.invalidate_cache(dest)

    def get(self, rpath, lpath, recursive=False, callback=DEFAULT_CALLBACK, maxdepth=None, **kwargs):
        src = self._strip_protocol(rpath) if isinstance(rpath, str) else ""
        if not (recursive and maxdepth is None and not kwargs and src and isinstance(lpath, str)
                and not self._has_magic(rpath) and self.isdir(src)):
            return super().get(rpath, lpath, recursive=recursive, callback=callback, maxdepth=maxdepth, **kwargs)
        lpath = os.fspath(lpath)
        into = lpath.endswith(("/", os.sep)) or os.path.isdir(lpath)
        dest = os.path.join(lpath, posixpath.basename(src)) if into and not rpath.endswith("/") else lpath
        os.makedirs(dest, exist_ok=True)
        self._tree_run(False, src, os.path.normpath(dest), callback)

    def _tree_run(self, upload: bool, src: str, dest: str, callback) -> None:
        """One tree run of a directory's contents into ``dest`` (which
        exists), ``callback`` told the files done of the files to move;
        a file that failed raises TreeError (its ``.report`` says which)."""

        def heard(done_of):
            done, total = done_of
            if total:
                callback.set_size(total)
                callback.absolute_update(done)

        with self._lock:
            _tree(_native.copy_tree(self._s().native, upload, [src], dest, True, self.tree_jobs, False, [], heard, True),
                  src, dest)

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None, **kwargs):
        path = self._strip_protocol(path)
        if mode not in ("rb", "wb", "xb", "ab"):
            raise NotImplementedError(f"tf filesystem: mode {mode!r} (rb, wb, xb and ab are)")
        if mode == "ab" and not autocommit:
            raise NotImplementedError("tf filesystem: mode 'ab' inside a transaction (a stage holds a whole file)")
        if mode == "xb" and self.exists(path):
            raise FileExistsError(f"{path}: exists on the server")
        info = None
        if mode == "rb" and kwargs.get("size") is None:
            info = self._stat_info(path)
            if info["type"] == "directory":
                raise IsADirectory(f"{path}: is a directory on the server", filename=path)
            kwargs["size"] = info["size"]
        f = TfFile(self, path, mode, block_size=block_size or "default", autocommit=autocommit,
                   cache_options=cache_options, **kwargs)
        if info is not None:
            f._details = info  # the stat that sized it: not asked again
        return f


class _Staged:
    """A file of a transaction staged on the server (fsspec's deferred
    file): ``commit`` puts it in place, ``discard`` removes its stage."""

    def __init__(self, fs, staged):
        self.fs, self.staged = fs, staged

    def commit(self):
        self.fs._commit_staged(self.staged)

    def discard(self):
        self.fs._drop_staged(self.staged)


class TfFile(AbstractBufferedFile):
    """A file of a TfFileSystem: ranged GETs for reading; for writing, the
    blocks fsspec buffers go out as they fill through a session's streaming
    upload, the file put in place when closed (an exception out of the
    ``with`` block gives it up: the old file stays). "ab" appends them with
    PUT from the file's end as they fill (what was sent stays). Inside a
    transaction (``autocommit=False``) the blocks are kept here and staged
    whole when the file is closed; the transaction's end commits it or
    gives it up."""

    DEFAULT_BLOCK_SIZE = 4 << 20

    def _fetch_range(self, start, end):
        if end <= start:
            return b""
        return self.fs._again(lambda s: s.read_bytes(self.path, start, end - start))

    def _initiate_upload(self):
        if not self.autocommit:
            self._parts, self._staged = [], None
            return
        self._session = self.fs._writer_session()
        with self.fs._lock:
            self.fs._parent_made(self.path)
        self._file = self._session.open(self.path, self.mode if self.mode in ("xb", "ab") else "wb")

    def _upload_chunk(self, final=False):
        self.buffer.seek(0)
        data = self.buffer.read()
        if not self.autocommit:
            self._parts.append(data)
            if final:
                with self.fs._lock:
                    s = self.fs._s()
                    self.fs._parent_made(self.path)
                    self._staged = s.stage_bytes(self.path, b"".join(self._parts), self.mode != "xb")
                self._parts = []
            return True
        if data:
            self._file.write(data)
        if final:
            try:
                self._file.close()
            finally:
                self.fs._return_session(self._session)
            self.fs.invalidate_cache(self.path)
        return True

    def commit(self):
        staged = getattr(self, "_staged", None)
        if staged is not None:
            self._staged = None
            self.fs._commit_staged(staged)

    def discard(self):
        staged = getattr(self, "_staged", None)
        if staged is not None:
            self._staged = None
            self.fs._drop_staged(staged)
        f = getattr(self, "_file", None)
        if f is not None and not f.closed:
            try:
                f.abort()
            finally:
                self.fs._return_session(self._session)
        self.buffer = None
        self.closed = True

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self.writable():
            self.discard()
            return
        self.close()

    def __del__(self):
        if not self.closed and self.writable():
            try:
                self.discard()
            except Exception:
                pass
