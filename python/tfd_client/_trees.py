"""Tree runs (put_tree, get_tree, mirror): tfp-client's, what ``tf put -r``,
``tf get -r`` and ``tf mirror`` run, with their messages word for word; and
the TreeReport each returns."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple, Union

from . import _native
from ._errors import _from_native
from ._paths import PathLike, Progress, _b, _local, _s


@dataclass(frozen=True)
class Item:
    """An entry a tree run changes (a dry run: would change), and why, as
    ``tf -i`` and ``tf --json`` say it (doc/json-output.md): ``action`` one
    of "send", "receive", "make", "attrs", "delete"; ``kind`` "file", "dir",
    "symlink", "device", "special"; ``path`` below the destination (bytes);
    ``size`` a file's size; ``changes`` why ("new", or some of "checksum",
    "size", "time", "perms", "owner", "group"); ``line`` rsync's ``-i``
    line (``>f.st...... a.txt``)."""

    action: str
    kind: str
    path: bytes
    size: int
    changes: List[str]
    line: str


OnItem = Callable[[Item], None]


def _on_item(cb: Optional[OnItem]):
    """The native callback handing ``cb`` each item, or None."""
    if cb is None:
        return None
    return lambda t: cb(Item(t[0], t[1], bytes(t[2]), t[3], list(t[4]), t[5]))


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
    "replace", "mkdir", "copy"; ``tries`` how many tries the run took
    (more than one after a broken connection, with ``retries=``);
    ``items`` each entry that changed (a dry run: would change), and why,
    as ``Item``."""

    transferred: int
    deleted: int
    unchanged: int
    failures: List[Tuple[str, str]]
    notes: List[str]
    kept: List[Tuple[str, int]]
    planned: List[Tuple[str, str]]
    items: List[Item]
    tries: int = 1

    @property
    def ok(self) -> bool:
        return not self.failures


def _filters(exclude: Sequence[str], include: Sequence[str]) -> List[Tuple[bool, str]]:
    if isinstance(exclude, str) or isinstance(include, str):
        raise TypeError("exclude and include take a sequence of patterns, not one string")
    return [(True, p) for p in include] + [(False, p) for p in exclude]


def _select(rules: Sequence[str] = (), files_from: Optional[Sequence[str]] = None,
            max_size: Union[int, str, None] = None, min_size: Union[int, str, None] = None,
            update: bool = False, ignore_existing: bool = False, existing: bool = False,
            delete_excluded: bool = False) -> dict:
    """The selection keywords of a tree call (rsync's ``--filter``,
    ``--files-from``, ``--max-size``, ``--min-size``, ``--update``,
    ``--ignore-existing``, ``--existing``, ``--delete-excluded``), as the
    native call takes them; tfp-client reads them."""
    if isinstance(rules, str) or isinstance(files_from, str):
        raise TypeError("rules and files_from take a sequence, not one string")
    size = lambda v: None if v is None else str(v)
    return {
        "filters": [], "rules": list(rules),
        "files_from": None if files_from is None else [_s(_b(p)) for p in files_from],
        "max_size": size(max_size), "min_size": size(min_size), "update": update,
        "ignore_existing": ignore_existing, "existing": existing, "delete_excluded": delete_excluded,
    }


_SELECT_DOC = """

        Selection, as rsync's options (a directory's contents copied through
        a mirror's plan when a size or update mode is given, which knows the
        destination): ``rules`` rsync filter rules after ``include``/
        ``exclude`` ("+ PAT", "- PAT", "include PAT", "exclude PAT", "!"),
        ``files_from`` only these paths below the source (listed directories
        taken whole), ``max_size``/``min_size`` (bytes, or "100K", "1.5M"),
        ``update`` (a file newer at the destination stays),
        ``ignore_existing``, ``existing``."""


def _tree(run: "_native.TreeRun", src: PathLike, dst: PathLike) -> TreeReport:
    """The report of a run from ``src`` to ``dst``; TreeError (naming both)
    if anything failed."""
    failures = [(k, t) for k, t in run.said if k != "note"]
    r = TreeReport(
        transferred=run.transferred,
        deleted=run.deleted,
        unchanged=run.unchanged,
        failures=failures,
        notes=[t for k, t in run.said if k == "note"],
        kept=[(os.fspath(p), n) for p, n in run.kept],
        planned=[(step, _s(rel)) for step, rel in run.planned],
        tries=run.tries,
        items=[Item(a, k, bytes(p), n, list(c), line) for a, k, p, n, c, line in run.items],
    )
    if failures or run.stopped or run.local or run.refused:
        first = failures[0][1] if failures else "the run stopped before it had a plan"
        more = len(failures) - 1
        message = first + (f" (and {more} more)" if more > 0 else "")
        e = _from_native("tree", None, "", message, message, _b(src), _b(dst))
        e.report = r
        raise e
    return r


def _moves(backup: bool, backup_dir: Optional[str], suffix: Optional[str],
           remove_source_files: bool) -> Optional[tuple]:
    """rsync's ``--backup``, ``--backup-dir``, ``--suffix`` and
    ``--remove-source-files`` as the native session takes them: every file
    the run replaces (or a mirror's delete removes) at the destination kept,
    ``name~`` beside it or at its path in ``backup_dir`` (relative to the
    destination, which implies ``backup``), atomically with its replacement
    (a server without tfd's backups refuses, nothing moved); each source file
    removed once its copy is proven the same (SHA-256 on both sides)."""
    if not (backup or backup_dir is not None or remove_source_files):
        return None
    return (backup, backup_dir, suffix, remove_source_files)


def _needs_archive(archive: bool, **beyond: bool) -> None:
    """tf's rule: a tree copy keeps extended attributes, ACLs and hard links
    with ``-a`` (``-aX``, ``-aA``, ``-aH``)."""
    for flag, asked in beyond.items():
        if asked and not archive:
            raise ValueError(f"{flag}=True goes with archive=True "
                             f"(a tree's copy as rsync -a with it makes it)")


class _TreeRuns:
    """The Session's tree runs (a base of Session)."""

    _n: "_native.Session"

    def put_tree(self, local_dir: PathLike, remote_dir: PathLike, *, jobs: int = 4,
                 exclude: Sequence[str] = (), include: Sequence[str] = (),
                 progress: Optional[Progress] = None, archive: bool = False, retries: int = 0,
                 dry_run: bool = False, on_item: Optional[OnItem] = None,
                 backup: bool = False, backup_dir: Optional[str] = None, suffix: Optional[str] = None,
                 remove_source_files: bool = False, sparse: bool = False, xattrs: bool = False,
                 acls: bool = False, hard_links: bool = False,
                 **select) -> TreeReport:
        """Uploads the contents of local_dir into remote_dir (made if missing),
        over ``jobs`` sessions. Every file is replaced whole or left as it was;
        files of 32 MiB and more go through a stage a later run continues.
        Symlinks are skipped (said in ``report.notes``). ``exclude``/``include``
        are rsync-style patterns (an include is tried before the excludes; the
        first match wins). Raises TreeError (with ``.report``) if any file
        failed; returns the TreeReport otherwise. ``archive=True`` copies as
        ``tf put -r -a`` does: what ``rsync -a`` keeps, symlinks as symlinks,
        modes and mtimes to the nanosecond, owners where the server's session
        may give them. ``retries=N``: a run whose connection broke is tried
        again on a new session, up to N times, as ``tf --retries`` does.
        ``dry_run=True`` changes nothing on either side and says in
        ``report.items`` what would move; ``on_item`` is called with each
        ``Item`` as it is told (the tree then goes through the plan, as with
        ``archive``: what is the same on both sides stays). ``backup``,
        ``backup_dir`` and ``suffix`` keep every file the run replaces, and
        ``remove_source_files`` removes each source file once its copy is
        proven the same, and only while it is still the file proven (one
        written to since is kept and told), as ``tf``'s and rsync's options
        of those names (:func:`_moves`). ``sparse=True`` keeps holes (``tf -S``); with
        ``archive=True``, ``xattrs=True`` keeps extended attributes (``tf
        -aX``), ``acls=True`` POSIX ACLs (``-aA``) and ``hard_links=True``
        hard links (``-aH``: the names of one file arrive as names of one
        file, its data sent once)."""
        _needs_archive(archive, xattrs=xattrs, acls=acls, hard_links=hard_links)
        return _tree(_native.copy_tree(self._n, True, [_local(local_dir)], _s(_b(remote_dir)), True, jobs, False,
                                       _filters(exclude, include), progress, archive=archive,
                                       select=_select(**select), retries=retries,
                                       dry_run=dry_run, on_item=_on_item(on_item),
                                       moves=_moves(backup, backup_dir, suffix, remove_source_files),
                                       sparse=sparse, xattrs=xattrs, acls=acls, hard_links=hard_links),
                     local_dir, remote_dir)

    def get_tree(self, remote_dir: PathLike, local_dir: PathLike, *, jobs: int = 4, resume: bool = False,
                 exclude: Sequence[str] = (), include: Sequence[str] = (),
                 progress: Optional[Progress] = None, archive: bool = False, retries: int = 0,
                 dry_run: bool = False, on_item: Optional[OnItem] = None,
                 backup: bool = False, backup_dir: Optional[str] = None, suffix: Optional[str] = None,
                 remove_source_files: bool = False, sparse: bool = False, xattrs: bool = False,
                 acls: bool = False, hard_links: bool = False,
                 **select) -> TreeReport:
        """Downloads the contents of remote_dir into local_dir (made if
        missing). Every name the server lists is checked before it is used
        and lands only below local_dir; each file lands in a partial renamed
        over its name when whole. An interrupted run keeps its partials
        (``report.kept``) and ``resume=True`` continues them. Raises TreeError
        if any file failed. ``archive=True`` copies as ``tf get -r -a``
        does: what ``rsync -a`` keeps, owners and devices too when run as
        root. ``retries=N``: a run whose connection broke is tried again on a
        new session, up to N times, continuing its partials. ``dry_run``,
        ``on_item``, ``backup``, ``backup_dir``, ``suffix`` and
        ``remove_source_files``, ``sparse``, ``xattrs``, ``acls`` and
        ``hard_links`` as put_tree's
        (:func:`_moves`)."""
        _needs_archive(archive, xattrs=xattrs, acls=acls, hard_links=hard_links)
        return _tree(_native.copy_tree(self._n, False, [_s(_b(remote_dir))], _local(local_dir), True, jobs, resume,
                                       _filters(exclude, include), progress, archive=archive,
                                       select=_select(**select), retries=retries,
                                       dry_run=dry_run, on_item=_on_item(on_item),
                                       moves=_moves(backup, backup_dir, suffix, remove_source_files),
                                       sparse=sparse, xattrs=xattrs, acls=acls, hard_links=hard_links),
                     remote_dir, local_dir)

    def mirror(self, src: PathLike, dst: PathLike, *, direction: str, delete: bool = False,
               checksum: bool = False, dry_run: bool = False, jobs: int = 4,
               exclude: Sequence[str] = (), include: Sequence[str] = (),
               progress: Optional[Progress] = None, archive: bool = True, retries: int = 0,
               on_item: Optional[OnItem] = None,
               backup: bool = False, backup_dir: Optional[str] = None, suffix: Optional[str] = None,
               remove_source_files: bool = False, sparse: bool = False, xattrs: bool = False,
                 acls: bool = False, hard_links: bool = False,
               **select) -> TreeReport:
        """Makes ``dst`` a copy of ``src``, as ``tf mirror SRC DST`` does:
        ``direction="up"`` (a local src, a remote dst) or ``"down"`` (a remote
        src, a local dst), always named: there is no default that could
        delete the other way. New and changed files move (by size and
        mtime; ``checksum=True``: same-size files are compared by SHA-256),
        directories are made, and with ``delete=True`` what dst holds and src
        does not is removed. ``dry_run=True`` changes nothing and lists the
        steps in ``report.planned``. ``archive=True`` (the default, as tf's)
        keeps what ``rsync -a`` keeps where the server says it: modes, mtimes
        to the nanosecond, directories' times, symlinks as symlinks, FIFOs
        and sockets; ``archive=False`` moves files and directories alone.
        ``on_item`` is called with each ``Item`` (an entry that changes, and
        why, as ``tf mirror -i`` prints it) as it is told; ``report.items``
        holds them all. Raises TreeError if anything failed.
        ``delete_excluded=True`` (implies ``delete``) removes what the
        filters leave out from dst too; ``retries=N`` as put_tree's;
        ``backup``, ``backup_dir``, ``suffix`` and ``remove_source_files`` as
        for put_tree (:func:`_moves`), what ``delete`` removes kept too.
        ``sparse=True`` keeps holes, ``xattrs=True`` extended attributes,
        ``acls=True`` POSIX ACLs, ``hard_links=True`` hard links (``tf mirror
        -S -X -A -H``)."""
        if direction == "up":
            s, d, up = _local(src), _s(_b(dst)), True
        elif direction == "down":
            s, d, up = _s(_b(src)), _local(dst), False
        else:
            raise ValueError(f"mirror: direction must be 'up' (local src to remote dst) or 'down' "
                             f"(remote src to local dst), not {direction!r}")
        return _tree(_native.mirror(self._n, s, d, up, delete, checksum, dry_run, jobs,
                                    _filters(exclude, include), progress, archive,
                                    select=_select(**select), retries=retries,
                                    on_item=_on_item(on_item),
                                    moves=_moves(backup, backup_dir, suffix, remove_source_files),
                                    sparse=sparse, xattrs=xattrs, acls=acls, hard_links=hard_links), src, dst)

    def mirror_up(self, local_dir: PathLike, remote_dir: PathLike, **kw) -> TreeReport:
        """mirror(local_dir, remote_dir, direction="up", ...)."""
        return self.mirror(local_dir, remote_dir, direction="up", **kw)

    def mirror_down(self, remote_dir: PathLike, local_dir: PathLike, **kw) -> TreeReport:
        """mirror(remote_dir, local_dir, direction="down", ...)."""
        return self.mirror(remote_dir, local_dir, direction="down", **kw)


for _f in (_TreeRuns.put_tree, _TreeRuns.get_tree, _TreeRuns.mirror):
    _f.__doc__ = (_f.__doc__ or "") + _SELECT_DOC
