"""Part 7 of the Python bench (issue 66): what a data engineer does through
fsspec, tf:// against fsspec's sshfs (asyncssh) on the private sshd, in the
same run, medians of `runs` rounds, each ratio sshfs's time / tf://'s:

  - fs.get of 100 files of 64 KiB through a glob (target: 5x faster than
    the 5.8 s of issue 66, reported beside; and the ratio to sshfs);
  - pipe_file of 256 MiB (target >= 2x sshfs);
  - ls(detail=True) of a directory of 10,000 files (target >= 1.5x sshfs);
  - cat_file of 64 MiB, put and get of a directory of 1,000 files of
    16 KiB, pandas.read_csv of a 20 MB CSV (reported; the issue's target is
    "not slower than today", which a later run compares).

`cases` limits the run to some of them (names as in CASES)."""

import os
import shutil
import statistics
import time

#: fs.get of 100 files through a glob before issue 66's fixes (its text)
GLOB_GET_BEFORE_S = 5.8

CASES = ("glob_get", "pipe_file", "ls_detail", "cat_file", "dir_put", "dir_get", "read_csv")


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _files(d, n, size):
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (d / f"f{i:05d}.bin").write_bytes(os.urandom(size))


def _csv(path, mb):
    """A CSV of about `mb` MB: an id, a region, an amount and a date a row."""
    with open(path, "w") as f:
        f.write("id,region,amount,ts\n")
        j = 0
        while f.tell() < mb * 1_000_000:
            f.write("".join(f"{i},r{i % 17},{i * 3.25:.2f},2026-11-{i % 28 + 1:02d}\n" for i in range(j, j + 10000)))
            j += 10000


def _case(name, fs, root, ctx):
    """The call that runs case `name` once on `fs`, its files under `root`;
    `ctx`: the local directory, the bytes to pipe, the round."""
    local, data, r = ctx
    if name == "glob_get":
        out = local / "glob_out"
        return lambda: (shutil.rmtree(out, ignore_errors=True), fs.get(f"{root}/g100/*.bin", str(out) + "/"))
    if name == "pipe_file":
        return lambda: fs.pipe_file(f"{root}/piped.bin", data)
    if name == "ls_detail":
        return lambda: (fs.invalidate_cache(), fs.ls(f"{root}/l10k", detail=True))
    if name == "cat_file":
        return lambda: fs.cat_file(f"{root}/c64.bin")
    if name == "dir_put":
        return lambda: fs.put(str(local / "tree"), f"{root}/up{r}", recursive=True)
    if name == "dir_get":
        out = local / "tree_out"
        return lambda: (shutil.rmtree(out, ignore_errors=True), fs.get(f"{root}/tree", str(out), recursive=True))
    if name == "read_csv":
        import pandas as pd

        def read():
            with fs.open(f"{root}/t.csv", "rb") as f:
                return pd.read_csv(f)

        return read
    raise ValueError(name)


def bench_everyday(tffs, ssh, tf_data, ssh_dir, local, results, runs=3, cases=CASES):
    """The cases on `tffs` (its files under the served root `tf_data`) and
    on `ssh` (under `ssh_dir`), their medians and ratios into `results`."""
    print(f"7. fsspec everyday (issue 66): tf:// against sshfs, medians of {runs}", flush=True)
    local.mkdir(parents=True, exist_ok=True)
    made = {}
    for root in (tf_data, ssh_dir):
        if "glob_get" in cases:
            _files(root / "g100", 100, 64 << 10)
        if "ls_detail" in cases:
            _files(root / "l10k", 10000, 0)
        if "cat_file" in cases:
            (root / "c64.bin").write_bytes(made.setdefault("c64", os.urandom(64 << 20)))
        if "dir_get" in cases:
            _files(root / "tree", 1000, 16 << 10)
        if "read_csv" in cases:
            if "csv" not in made:
                _csv(local / "t.csv", 20)
                made["csv"] = True
            shutil.copy(local / "t.csv", root / "t.csv")
    if "dir_put" in cases:
        _files(local / "tree", 1000, 16 << 10)
    data = os.urandom(256 << 20) if "pipe_file" in cases else b""
    targets = {"glob_get": 5.0, "pipe_file": 2.0, "ls_detail": 1.5}
    for case in cases:
        times = {"tf": [], "sshfs": []}
        failed = {}
        for r in range(runs):
            for who, fs, root in (("tf", tffs, ""), ("sshfs", ssh, str(ssh_dir))):
                if who in failed:
                    continue
                fn = _case(case, fs, root, (local, data, r))
                try:
                    times[who].append(_timed(fn))
                except Exception as e:  # the peer's failure is reported, the other cases still run
                    failed[who] = f"{type(e).__name__}: {e}"
        if failed:
            for who, why in failed.items():
                print(f"  {case}: {who} failed: {why}", flush=True)
                results[f"{'fs' if who == 'tf' else 'sshfs'}_{case}_failed"] = "1"
            if "tf" not in failed and times["tf"]:
                print(f"  {case}: tf:// {statistics.median(times['tf']):.3f} s ({len(times['tf'])} rounds)", flush=True)
                results[f"fs_{case}_s"] = f"{statistics.median(times['tf']):.4f}"
            continue
        m = {k: statistics.median(v) for k, v in times.items()}
        ratio = m["sshfs"] / m["tf"]
        rounds = ", ".join(f"{a:.3f}/{b:.3f}" for a, b in zip(times["tf"], times["sshfs"]))
        line = f"  {case}: tf:// {m['tf']:.3f} s, sshfs {m['sshfs']:.3f} s = {ratio:.2f}x (rounds tf/sshfs: {rounds})"
        if case == "glob_get":
            line += f"; before issue 66's fixes {GLOB_GET_BEFORE_S:.1f} s = {GLOB_GET_BEFORE_S / m['tf']:.1f}x faster now"
            results["fs_glob_get_vs_before"] = f"{GLOB_GET_BEFORE_S / m['tf']:.3f}"
        target = targets.get(case)
        if target is not None:
            got = GLOB_GET_BEFORE_S / m["tf"] if case == "glob_get" else ratio
            line += f" (target >= {target}x: {'ok' if got >= target else 'MISSED'})"
        print(line, flush=True)
        results[f"fs_{case}_s"] = f"{m['tf']:.4f}"
        results[f"sshfs_{case}_s"] = f"{m['sshfs']:.4f}"
        results[f"fs_{case}_vs_sshfs"] = f"{ratio:.3f}"
