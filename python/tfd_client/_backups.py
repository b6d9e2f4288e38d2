"""Backups with history (backup, snapshots, restore, prune, verify):
tfp-client's, what ``tf backup``, ``tf backup list``, ``tf restore``,
``tf backup prune`` and ``tf backup verify`` run, with their sentences word
for word; and the records they return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from . import _native
from ._errors import BackupError
from ._paths import PathLike, _b, _local, _s


@dataclass(frozen=True)
class Snapshot:
    """A complete snapshot of a backup: ``name`` its time (the directory
    below the backup's name), ``files`` and ``bytes`` what its index holds
    (None when the index could not be read: ``note`` says why), ``added``
    the bytes it added to the server's disk (its files not linked from the
    snapshot before; None when an index could not be read)."""

    name: str
    files: Optional[int]
    bytes: Optional[int]
    note: Optional[str] = None
    added: Optional[int] = None


@dataclass(frozen=True)
class Backup:
    """A snapshot a ``backup`` call made: ``snapshot`` its path on the
    server (``NAME/<time>``), ``files`` the files it holds, ``notes`` what
    the run said on its way (each one sentence)."""

    snapshot: str
    files: int
    notes: List[str]


@dataclass(frozen=True)
class Pruned:
    """What a ``prune`` did: the snapshots ``kept`` and those ``removed``
    (with ``dry_run``, those that would be), oldest first."""

    kept: List[str]
    removed: List[str]
    dry_run: bool


@dataclass(frozen=True)
class Verified:
    """A ``verify`` whose every file the server proved it holds:
    ``snapshot`` the one checked, ``files`` the files asked, ``strength``
    ``"keyed"`` (HMACs under a fresh secret key: ``keys_left`` remain for
    later verifies), ``"spent"`` (every key was spent: SHA-256 against the
    sums this machine kept) or ``"unproven"`` (no proofs on this machine:
    SHA-256 against the server's own index); ``warning`` says why a check is
    the weaker one."""

    snapshot: str
    files: int
    strength: str
    keys_left: int
    warning: Optional[str] = None


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
        return [Snapshot(t, held[0] if held else None, held[1] if held else None, note, added)
                for t, held, note, added in _native.snapshots(self._n, name)]

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

    def prune(self, name: str, *, keep_last: Optional[int] = None, keep_daily: Optional[int] = None,
              keep_weekly: Optional[int] = None, keep_monthly: Optional[int] = None,
              dry_run: bool = False) -> Pruned:
        """Removes the snapshots of ``name`` that no keep rule keeps, as
        ``tf backup prune NAME --keep-last N --keep-daily N --keep-weekly N
        --keep-monthly N [--dry-run]`` does (restic's rules: each rule keeps
        the newest snapshot of each of its last N periods; a snapshot any
        rule keeps stays). A snapshot goes whole or not at all (renamed out
        of the list first), with this machine's proofs of it. At least one
        rule is needed (ValueError). Raises BackupError naming the snapshots
        the server did not remove (``e.not_removed``; ``e.pruned`` what was
        done)."""
        rules: List[Tuple[str, int]] = []
        for rule, n in (("last", keep_last), ("daily", keep_daily), ("weekly", keep_weekly),
                        ("monthly", keep_monthly)):
            if n is None:
                continue
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"keep_{rule} is a count of snapshots, not {n!r}")
            rules.append((rule, n))
        if not rules:
            raise ValueError("prune needs at least one of keep_last, keep_daily, keep_weekly, keep_monthly")
        fates = _native.prune(self._n, name, rules, bool(dry_run))
        gone = ("would_remove", "removed")
        pruned = Pruned([s for s, f in fates if f == "kept"], [s for s, f in fates if f in gone], bool(dry_run))
        failed = [s for s, f in fates if f == "not_removed"]
        if failed:
            e = BackupError("; ".join(f"{s} could not be removed" for s in failed))
            e.not_removed, e.pruned = failed, pruned
            raise e
        return pruned

    def verify(self, name: str, *, snapshot: Optional[str] = None,
               sample: Optional[float] = None) -> Verified:
        """Has the server prove it still holds the snapshot (the latest, or
        ``snapshot``) of ``name``, as ``tf backup verify NAME[@SNAPSHOT]
        [--sample PERCENT]`` does: it hashes every stored file (or a random
        ``sample`` percent of them) under a secret key it never saw before,
        so no stored answer can serve, and each answer is compared with the
        one kept at backup time. Raises BackupError when a file is not held
        as backed up (``e.bad``: a list of (path as bytes, why)) or when
        nothing could be proven."""
        snap, files, bad, strength, left, warning = _native.verify(self._n, name, snapshot, sample)
        label = f"{name}@{snap}"
        if bad:
            said = [f"{label}: {_s(p)} {why}" for p, why in bad]
            said.append(f"{label}: {len(bad)} of {files} files are not held as they were backed up")
            e = BackupError("; ".join(said))
            e.bad = [(p, why) for p, why in bad]
            raise e
        return Verified(snap, files, strength, left, warning)
