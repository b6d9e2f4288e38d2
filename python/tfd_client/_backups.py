"""Backups with history (backup, snapshots, restore): tfp-client's, what
``tf backup``, ``tf backup list`` and ``tf restore`` run, with their
sentences word for word; and the records they return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

from . import _native
from ._errors import BackupError
from ._paths import PathLike, _b, _local, _s


@dataclass(frozen=True)
class Snapshot:
    """A complete snapshot of a backup: ``name`` its time (the directory
    below the backup's name), ``files`` and ``bytes`` what its index holds
    (None when the index could not be read: ``note`` says why)."""

    name: str
    files: Optional[int]
    bytes: Optional[int]
    note: Optional[str] = None


@dataclass(frozen=True)
class Backup:
    """A snapshot a ``backup`` call made: ``snapshot`` its path on the
    server (``NAME/<time>``), ``files`` the files it holds, ``notes`` what
    the run said on its way (each one sentence)."""

    snapshot: str
    files: int
    notes: List[str]


class _Backups:
    """The Session's backups (a base of Session)."""

    _n: "_native.Session"

    def backup(self, local_dir: PathLike, name: str) -> Backup:
        """Makes a new snapshot of local_dir under ``name`` on the server, as
        ``tf backup LOCAL_DIR NAME`` does: files unchanged since the last
        snapshot are linked on the server (no data crosses), the rest travel
        with what ``rsync -a`` keeps, the index (each file's SHA-256) is
        written last and the snapshot renamed into place, so a listed
        snapshot is always complete; an interrupted run is taken over by the
        next. Raises BackupError when no complete snapshot was made."""
        snap, files, notes = _native.backup(self._n, _local(local_dir), name)
        return Backup(snap, files, list(notes))

    def snapshots(self, name: str) -> List[Snapshot]:
        """The complete snapshots of the backup ``name``, oldest first, as
        ``tf backup list NAME`` shows them ([] for a name never backed up)."""
        return [Snapshot(t, held[0] if held else None, held[1] if held else None, note)
                for t, held, note in _native.snapshots(self._n, name)]

    def restore(self, name: str, local_dir: PathLike, *, snapshot: Optional[str] = None,
                paths: Sequence[PathLike] = ()) -> str:
        """Restores the backup ``name`` (its latest snapshot, or
        ``snapshot``), or only ``paths`` of it, into local_dir with what
        ``rsync -a`` keeps, as ``tf restore NAME[@SNAPSHOT] [PATH...] DEST``
        does; every restored entry is then checked against the snapshot's
        index (SHA-256, type, mode, mtime). Returns the snapshot restored.
        Raises BackupError naming what the snapshot does not hold, what did
        not come whole and what does not match the index."""
        what = name if snapshot is None else f"{name}@{snapshot}"
        snap, missing, failed, mismatched = _native.restore(
            self._n, what, [_s(_b(p)) for p in paths], _local(local_dir))
        said = list(missing)
        if failed:
            said.append(f"{failed} of the copies did not come whole")
        said += [f"{p} does not match the snapshot's index" for p in mismatched]
        if said:
            e = BackupError("; ".join(said))
            e.missing, e.failed, e.mismatched = list(missing), failed, list(mismatched)
            raise e
        return snap
