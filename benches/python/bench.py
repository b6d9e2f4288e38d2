"""Bench of the Python client tfd_client (scripts/bench-python), every ratio
against a baseline measured in the same run:

  1. 1 GiB put and get through tfd_client against `tf put` / `tf get`
     (target: Python at least 0.9x tf's rate);
  2. a 64 KiB SNDFILE through tfd_client.compat against the PyPI
     tfprotocol-client 1.2.2 (target >= 1000x; the PyPI client runs under a
     timeout and a lower bound is reported when it does not finish);
  3. 1 GiB put and get through tfd_client against paramiko's and asyncssh's
     SFTP on a private sshd on 127.0.0.1 (aes128-gcm@openssh.com for both;
     targets >= 3x and >= 1.5x);
  4. small operations on one open session, the same three libraries: a stat
     and a 4 KiB file written whole, per operation (no target; the ratio is
     reported);
  5. a tree of 200 small files up and down: tfd_client's put_tree/get_tree
     against `tf put -r` / `tf get -r` (the same library run underneath);
  6. fsspec (issue 45): the tf:// filesystem's cat_file of 256 MiB against
     `tf get` (target >= 0.8x) and against fsspec's sshfs (asyncssh) on the
     private sshd (target >= 5x), fs.put of 1,000 files of 16 KiB against
     sshfs (target >= 5x), medians of 3; and open("wb") of 256 MiB in a child
     process, whose peak RSS must grow by less than 64 MiB. Each round also
     measures the machine's ceiling for a sealed stream over loopback (the
     secure transport's AEAD records between two threads, no server, no
     files: `scripts/bench transfer --only secure`'s "AEAD over loopback")
     and prints it divided by sshfs's rate, i.e. the most any cat_file over
     tfd's secure transport could reach against sshfs here; and the CPU
     seconds per 256 MiB of each client and of its server;
  7. fsspec everyday (issue 66, benches/python/everyday.py): fs.get of 100
     files through a glob, pipe_file of 256 MiB, ls(detail=True) of 10,000
     entries, cat_file, a directory's put and get and pandas.read_csv,
     tf:// against sshfs, medians of 3 (`--only everyday`, `--cases`).

The last line is `BENCH_PYTHON key=value ...`. Missing a target is reported,
never a failure."""

import argparse
import asyncio
import io
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tfd_client
from everyday import CASES as EVERYDAY_CASES

HOST = "127.0.0.1"
GiB = 1 << 30


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited at startup")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not listen")


class Tfd:
    def __init__(self, base: Path, tfd_bin: str):
        self.base = base
        self.data = base / "data"
        self.data.mkdir()
        priv = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                              check=True, capture_output=True, text=True).stdout
        pub = subprocess.run(["openssl", "pkey", "-pubout"], input=priv, check=True, capture_output=True,
                             text=True).stdout
        (base / "key.pem").write_text(priv)
        (base / "key.pem").chmod(0o600)
        self.pub = base / "pub.pem"
        self.pub.write_text(pub)
        self.public_pem = pub
        self.hash = secrets.token_hex(16)
        self.port = free_port()
        lines = ["proto 2.4.1", f"hash {self.hash}", f"dbdir {self.data}", f"port {self.port}", f"listen {HOST}",
                 f"privkey_file {base / 'key.pem'}", "sync_uploads no",
                 # its own control socket, not tfd's default /run/tfd/ctl.sock
                 f"control_socket {base / 'ctl.sock'}"]
        if os.geteuid() == 0:
            lines.append("defusr root")
        (base / "tfd.conf").write_text("\n".join(lines) + "\n")
        self.log = open(base / "tfd.log", "wb")
        self.proc = subprocess.Popen([tfd_bin, "-c", str(base / "tfd.conf")], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        wait_port(self.port, self.proc, "tfd")

    @property
    def addr(self):
        return f"{HOST}:{self.port}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


class Sshd:
    """A private sshd on 127.0.0.1, as benches/support/sshd.rs starts one."""

    def __init__(self, base: Path):
        self.dir = base
        for k in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / k)], check=True)
        shutil.copy(base / "client_key.pub", base / "authorized_keys")
        self.port = free_port()
        self.user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True,
                                                              text=True).stdout.strip()
        conf = f"""Port {self.port}
ListenAddress 127.0.0.1
AddressFamily inet
HostKey {base}/host_key
PidFile none
AuthorizedKeysFile {base}/authorized_keys
AllowUsers {self.user}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PermitTTY no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PrintMotd no
Subsystem sftp internal-sftp
"""
        (base / "sshd_config").write_text(conf)
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.log = open(base / "sshd.log", "wb")
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        self.proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(base / "sshd_config")], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        wait_port(self.port, self.proc, "sshd")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def best(n, fn):
    return min(timed(fn) for _ in range(n))


def rate(size, secs):
    return size / secs / 1e6  # MB/s


def make_file(path: Path, size: int):
    with open(path, "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(size >> 20):
            f.write(block)


def check(label, got, target, results, key):
    ok = got >= target
    print(f"  {label}: {got:.2f}x (target >= {target}x) {'ok' if ok else 'MISSED'}", flush=True)
    results[key] = f"{got:.3f}"
    results[key + "_ok"] = "1" if ok else "0"


def bench_tf(srv, tf_bin, src, size, runs, results):
    print(f"1. {size >> 20} MiB put/get: tfd_client vs tf", flush=True)
    out = srv.base / "out.bin"
    tf = [tf_bin, "--server", srv.addr, "--key", str(srv.pub), "--hash", srv.hash]

    def tf_put():
        subprocess.run(tf + ["put", str(src), "tf.bin"], check=True, stdout=subprocess.DEVNULL)

    def tf_get():
        if out.exists():
            out.unlink()
        subprocess.run(tf + ["get", "tf.bin", str(out)], check=True, stdout=subprocess.DEVNULL)

    with tfd_client.connect(srv.addr, key=srv.pub, hash=srv.hash) as s:
        def py_put():
            s.put(src, "py.bin")

        def py_get():
            if out.exists():
                out.unlink()
            s.get("py.bin", out)

        t = {"tf_put": [], "py_put": [], "tf_get": [], "py_get": []}
        for _ in range(runs):  # alternate, so drift hits both alike
            t["tf_put"].append(timed(tf_put))
            t["py_put"].append(timed(py_put))
            t["tf_get"].append(timed(tf_get))
            t["py_get"].append(timed(py_get))
    assert (srv.data / "py.bin").stat().st_size == size
    b = {k: min(v) for k, v in t.items()}
    for d in ("put", "get"):
        print(f"  {d}: tfd_client {rate(size, b['py_' + d]):.0f} MB/s, tf {rate(size, b['tf_' + d]):.0f} MB/s",
              flush=True)
        results[f"py_{d}_mbs"] = f"{rate(size, b['py_' + d]):.0f}"
        results[f"tf_{d}_mbs"] = f"{rate(size, b['tf_' + d]):.0f}"
        check(f"{d} tfd_client / tf", b["tf_" + d] / b["py_" + d], 0.9, results, f"{d}_vs_tf")


PYPI_SNDFILE = r"""
import io, sys, time
from tfprotocol_client.tfprotocol import TfProtocol
pub, hash_, port, size = open(sys.argv[1]).read(), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t = TfProtocol("2.4.1", pub, hash_, "127.0.0.1", port)
t.connect()
data = bytes(range(256)) * (size // 256)
st = time.perf_counter()
got = []
t.sndfile_command(True, "pypi.bin", io.BytesIO(data), lambda *a: got.append(a[2]))
print(time.perf_counter() - st, flush=True)
"""


def bench_sndfile(srv, python, size, timeout, results):
    print(f"2. SNDFILE of {size >> 10} KiB: tfd_client.compat vs tfprotocol-client 1.2.2", flush=True)
    from tfd_client.compat.tfprotocol import TfProtocol

    data = bytes(range(256)) * (size // 256)
    t = TfProtocol("2.4.1", srv.public_pem, srv.hash, HOST, srv.port)
    t.connect()
    seen = []
    compat = best(5, lambda: t.sndfile_command(True, "compat.bin", io.BytesIO(data),
                                               lambda *a: seen.append(a[2])))
    t.disconnect()
    assert (srv.data / "compat.bin").read_bytes() == data
    script = srv.base / "pypi_sndfile.py"
    script.write_text(PYPI_SNDFILE)
    try:
        r = subprocess.run([python, str(script), str(srv.pub), srv.hash, str(srv.port), str(size)],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            print(f"  tfprotocol-client failed: {r.stderr[-500:]}", flush=True)
            pypi, bound = float("nan"), ""
        else:
            pypi, bound = float(r.stdout.strip().splitlines()[-1]), ""
    except subprocess.TimeoutExpired:
        pypi, bound = float(timeout), ">="
    print(f"  tfd_client.compat {compat * 1e3:.2f} ms, tfprotocol-client {bound}{pypi:.2f} s", flush=True)
    results["sndfile_compat_ms"] = f"{compat * 1e3:.2f}"
    results["sndfile_pypi_s"] = f"{bound}{pypi:.2f}"
    check(f"SNDFILE compat / PyPI ({bound or 'measured'})", pypi / compat, 1000, results, "sndfile_vs_pypi")


def bench_sftp(srv, sshd, src, size, results):
    print(f"3. {size >> 20} MiB put/get: tfd_client vs paramiko and asyncssh SFTP (aes128-gcm@openssh.com)",
          flush=True)
    import asyncssh
    import paramiko

    out = srv.base / "out_sftp.bin"
    remote_dir = srv.base / "sftp"
    remote_dir.mkdir(exist_ok=True)
    cipher = "aes128-gcm@openssh.com"
    key = paramiko.Ed25519Key.from_private_key_file(str(sshd.dir / "client_key"))

    def paramiko_session():
        tr = paramiko.Transport((HOST, sshd.port))
        sec = tr.get_security_options()
        sec.ciphers = (cipher,)
        tr.connect(username=sshd.user, pkey=key)
        return tr, paramiko.SFTPClient.from_transport(tr)

    def pm_put():
        tr, sf = paramiko_session()
        sf.put(str(src), str(remote_dir / "pm.bin"))
        tr.close()

    def pm_get():
        tr, sf = paramiko_session()
        sf.get(str(remote_dir / "pm.bin"), str(out))
        tr.close()

    async def as_op(put):
        async with asyncssh.connect(HOST, sshd.port, username=sshd.user, client_keys=[str(sshd.dir / "client_key")],
                                    known_hosts=None, encryption_algs=[cipher]) as conn:
            async with conn.start_sftp_client() as sf:
                if put:
                    await sf.put(str(src), str(remote_dir / "as.bin"))
                else:
                    await sf.get(str(remote_dir / "as.bin"), str(out))

    with tfd_client.connect(srv.addr, key=srv.pub, hash=srv.hash) as s:
        py_put = timed(lambda: s.put(src, "py2.bin"))
        py_get = timed(lambda: s.get("py2.bin", out))
        pm_p, pm_g = timed(pm_put), timed(pm_get)
        as_p = timed(lambda: asyncio.run(as_op(True)))
        as_g = timed(lambda: asyncio.run(as_op(False)))
        py_put = min(py_put, timed(lambda: s.put(src, "py2.bin")))
        py_get = min(py_get, timed(lambda: s.get("py2.bin", out)))
    assert (remote_dir / "pm.bin").stat().st_size == size and (remote_dir / "as.bin").stat().st_size == size
    for name, v in (("tfd_client put", py_put), ("tfd_client get", py_get), ("paramiko put", pm_p),
                    ("paramiko get", pm_g), ("asyncssh put", as_p), ("asyncssh get", as_g)):
        print(f"  {name}: {rate(size, v):.0f} MB/s", flush=True)
    results.update(paramiko_put_mbs=f"{rate(size, pm_p):.0f}", paramiko_get_mbs=f"{rate(size, pm_g):.0f}",
                   asyncssh_put_mbs=f"{rate(size, as_p):.0f}", asyncssh_get_mbs=f"{rate(size, as_g):.0f}")
    check("put tfd_client / paramiko", pm_p / py_put, 3, results, "put_vs_paramiko")
    check("get tfd_client / paramiko", pm_g / py_get, 3, results, "get_vs_paramiko")
    check("put tfd_client / asyncssh", as_p / py_put, 1.5, results, "put_vs_asyncssh")
    check("get tfd_client / asyncssh", as_g / py_get, 1.5, results, "get_vs_asyncssh")


def bench_small(srv, sshd, n, results):
    print(f"4. small operations, {n} each on one session: stat, 4 KiB write", flush=True)
    import asyncssh
    import paramiko

    data = os.urandom(4096)
    remote_dir = srv.base / "sftp_small"
    remote_dir.mkdir(exist_ok=True)
    (remote_dir / "s.txt").write_bytes(b"x")
    (srv.data / "s.txt").write_bytes(b"x")
    per = {}
    with tfd_client.connect(srv.addr, key=srv.pub, hash=srv.hash) as s:
        per["py_stat"] = best(3, lambda: [s.stat("s.txt") for _ in range(n)]) / n
        per["py_write"] = best(3, lambda: [s.write_bytes("w.bin", data) for _ in range(n)]) / n
    assert (srv.data / "w.bin").read_bytes() == data
    key = paramiko.Ed25519Key.from_private_key_file(str(sshd.dir / "client_key"))
    tr = paramiko.Transport((HOST, sshd.port))
    tr.get_security_options().ciphers = ("aes128-gcm@openssh.com",)
    tr.connect(username=sshd.user, pkey=key)
    sf = paramiko.SFTPClient.from_transport(tr)

    def pm_write():
        with sf.open(str(remote_dir / "w.bin"), "wb") as f:
            f.write(data)

    per["pm_stat"] = best(3, lambda: [sf.stat(str(remote_dir / "s.txt")) for _ in range(n)]) / n
    per["pm_write"] = best(3, lambda: [pm_write() for _ in range(n)]) / n
    tr.close()

    async def as_run():
        async with asyncssh.connect(HOST, sshd.port, username=sshd.user, client_keys=[str(sshd.dir / "client_key")],
                                    known_hosts=None, encryption_algs=["aes128-gcm@openssh.com"]) as conn:
            async with conn.start_sftp_client() as asf:
                async def stats():
                    for _ in range(n):
                        await asf.stat(str(remote_dir / "s.txt"))

                async def writes():
                    for _ in range(n):
                        async with asf.open(str(remote_dir / "w.bin"), "wb") as f:
                            await f.write(data)

                out = {}
                for name, fn in (("as_stat", stats), ("as_write", writes)):
                    t = []
                    for _ in range(3):
                        st = time.perf_counter()
                        await fn()
                        t.append(time.perf_counter() - st)
                    out[name] = min(t) / n
                return out

    per.update(asyncio.run(as_run()))
    for op in ("stat", "write"):
        print(f"  {op}: tfd_client {per['py_' + op] * 1e6:.0f} us, paramiko {per['pm_' + op] * 1e6:.0f} us, "
              f"asyncssh {per['as_' + op] * 1e6:.0f} us", flush=True)
        results[f"{op}_us"] = f"{per['py_' + op] * 1e6:.0f}"
        results[f"{op}_vs_paramiko"] = f"{per['pm_' + op] / per['py_' + op]:.2f}"
        results[f"{op}_vs_asyncssh"] = f"{per['as_' + op] / per['py_' + op]:.2f}"


def bench_tree(srv, tf_bin, files, results):
    print(f"5. a tree of {files} files of 16 KiB: put_tree/get_tree vs tf put -r / get -r", flush=True)
    src = srv.base / "tree_src"
    for i in range(files):
        d = src / f"d{i % 10}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.bin").write_bytes(os.urandom(16 << 10))
    tf = [tf_bin, "--server", srv.addr, "--key", str(srv.pub), "--hash", srv.hash]
    down = srv.base / "tree_down"

    def clean(p):
        shutil.rmtree(p, ignore_errors=True)

    t = {"tf_put": [], "py_put": [], "tf_get": [], "py_get": []}
    with tfd_client.connect(srv.addr, key=srv.pub, hash=srv.hash) as s:
        for _ in range(3):
            clean(srv.data / "tt")
            t["tf_put"].append(timed(lambda: subprocess.run(tf + ["put", "-r", f"{src}/", "tt"], check=True,
                                                            stdout=subprocess.DEVNULL)))
            clean(srv.data / "pt")
            t["py_put"].append(timed(lambda: s.put_tree(src, "pt")))
            clean(down)
            t["tf_get"].append(timed(lambda: subprocess.run(tf + ["get", "-r", "tt/", str(down)], check=True,
                                                            stdout=subprocess.DEVNULL)))
            clean(down)
            t["py_get"].append(timed(lambda: s.get_tree("pt", down)))
    assert sum(1 for p in (srv.data / "pt").rglob("*.bin")) == files
    assert sum(1 for p in down.rglob("*.bin")) == files
    b = {k: min(v) for k, v in t.items()}
    for d in ("put", "get"):
        print(f"  {d}: tfd_client {b['py_' + d]:.3f} s, tf {b['tf_' + d]:.3f} s", flush=True)
        results[f"tree_{d}_vs_tf"] = f"{b['tf_' + d] / b['py_' + d]:.2f}"


RSS_CHILD = r"""
import resource, sys, tfd_client
addr, key, hash_, mib = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
block = bytes(range(256)) * 4096
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the session's own buffers counted too
with tfd_client.connect(addr, key=key, hash=hash_) as s:
    with s.open("rss.bin", "wb") as f:
        for _ in range(mib):
            f.write(block)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) >> 10)
"""


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def proc_cpu(pid):
    """CPU seconds of a process and of its descendants, the live ones and
    those it reaped (a daemon's per-connection children)."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        f = stat[stat.rindex(")") + 2:].split()
        own = sum(int(x) for x in f[11:15]) / tick  # utime stime cutime cstime
        kids = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids += (task / "children").read_text().split()
    except (OSError, ValueError):
        return 0.0
    return own + sum(proc_cpu(int(k)) for k in kids)


def cpu_self():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed_cpu(fn, client, server_pid):
    """(wall seconds, client CPU seconds, server CPU seconds) of fn()."""
    c0, s0 = client(), proc_cpu(server_pid)
    t = timed(fn)
    return t, client() - c0, proc_cpu(server_pid) - s0


def bench_fsspec(srv, sshd, tf_bin, base, results, runs=3):
    print("6. fsspec: tf:// against tf get and against sshfs (asyncssh)", flush=True)
    import fsspec
    from sshfs import SSHFileSystem

    size = 256 << 20
    big = base / "fs_big.bin"
    make_file(big, size)
    shutil.copy(big, srv.data / "fs_big.bin")
    remote_dir = sshd.dir / "fs"
    remote_dir.mkdir(exist_ok=True)
    shutil.copy(big, remote_dir / "fs_big.bin")
    out = base / "fs_out.bin"
    tf = [tf_bin, "--server", srv.addr, "--key", str(srv.pub), "--hash", srv.hash]
    tffs = fsspec.filesystem("tf", host=srv.addr, key=str(srv.pub), hash=srv.hash, skip_instance_cache=True)
    ssh = SSHFileSystem(HOST, port=sshd.port, username=sshd.user, client_keys=[str(sshd.dir / "client_key")],
                        known_hosts=None, skip_instance_cache=True)

    def tf_get():
        if out.exists():
            out.unlink()
        subprocess.run(tf + ["get", "fs_big.bin", str(out)], check=True, stdout=subprocess.DEVNULL)

    from tfd_client import _native

    t = {"tf_get": [], "tf_cat": [], "ssh_cat": []}
    cpu = {k: ([], []) for k in t}  # client, server CPU seconds
    ceiling, ceiling_cpu = [], []
    for _ in range(runs):
        c0 = cpu_self()
        ceiling.append(size / 1e6 / _native.sealed_loopback_mbps(size >> 20))
        ceiling_cpu.append(cpu_self() - c0)
        for k, fn, client, server in (
                ("tf_get", tf_get, cpu_children, srv.proc.pid),
                ("tf_cat", lambda: tffs.cat_file("fs_big.bin"), cpu_self, srv.proc.pid),
                ("ssh_cat", lambda: ssh.cat_file(str(remote_dir / "fs_big.bin")), cpu_self, sshd.proc.pid)):
            w, c, sv = timed_cpu(fn, client, server)
            t[k].append(w)
            cpu[k][0].append(c)
            cpu[k][1].append(sv)
    assert len(tffs.cat_file("fs_big.bin")) == size
    m = {k: median(v) for k, v in t.items()}
    for k, v in m.items():
        print(f"  {k}: {rate(size, v):.0f} MB/s (rounds: {', '.join(f'{rate(size, x):.0f}' for x in t[k])}); "
              f"CPU s per 256 MiB: client {median(cpu[k][0]):.2f}, server {median(cpu[k][1]):.2f}", flush=True)
        results[f"{k}_cpu_s"] = f"{median(cpu[k][0]):.3f}"
        results[f"{k}_server_cpu_s"] = f"{median(cpu[k][1]):.3f}"
    # client and server share the machine's cores: however well the two
    # overlap, a transfer takes at least their CPU seconds over the cores
    cores = os.cpu_count() or 1
    bound = {k: (median(cpu[k][0]) + median(cpu[k][1])) / cores for k in t}
    print(f"  CPU-bound on {cores} cores ((client + server) / cores): "
          + ", ".join(f"{k} {rate(size, v):.0f} MB/s" for k, v in bound.items())
          + f"; cat_file's bound / sshfs's bound: {bound['ssh_cat'] / bound['tf_cat']:.2f}x", flush=True)
    results["fs_cat_cpu_bound_vs_sshfs"] = f"{bound['ssh_cat'] / bound['tf_cat']:.3f}"
    ceil = median(ceiling)
    print(f"  sealed stream over loopback (AEAD records, two threads, no server): {rate(size, ceil):.0f} MB/s "
          f"(rounds: {', '.join(f'{rate(size, x):.0f}' for x in ceiling)}) = {m['ssh_cat'] / ceil:.2f}x sshfs, "
          f"tf get at {ceil / m['tf_get']:.2f} of it, cat_file at {ceil / m['tf_cat']:.2f}: the most a sealed cat_file "
          f"could reach here; its CPU s per 256 MiB (both ends): {median(ceiling_cpu):.2f}, bound on {cores} cores "
          f"{rate(size, median(ceiling_cpu) / cores):.0f} MB/s = {bound['ssh_cat'] / (median(ceiling_cpu) / cores):.2f}x "
          f"sshfs's bound", flush=True)
    results.update(fs_cat_mbs=f"{rate(size, m['tf_cat']):.0f}", sshfs_cat_mbs=f"{rate(size, m['ssh_cat']):.0f}",
                   tf_get_mbs=f"{rate(size, m['tf_get']):.0f}", sealed_loopback_mbs=f"{rate(size, ceil):.0f}",
                   sealed_loopback_vs_sshfs=f"{m['ssh_cat'] / ceil:.3f}",
                   sealed_loopback_cpu_s=f"{median(ceiling_cpu):.3f}")
    check("cat_file tf:// / tf get", m["tf_get"] / m["tf_cat"], 0.8, results, "fs_cat_vs_tf")
    check("cat_file tf:// / sshfs", m["ssh_cat"] / m["tf_cat"], 5, results, "fs_cat_vs_sshfs")

    small = base / "fs_small"
    small.mkdir(exist_ok=True)
    for i in range(1000):
        (small / f"f{i:04d}.bin").write_bytes(os.urandom(16 << 10))
    tp, sp = [], []
    for r in range(runs):
        tp.append(timed(lambda: tffs.put(str(small), f"small{r}", recursive=True)))
        sp.append(timed(lambda: ssh.put(str(small), str(remote_dir / f"small{r}"), recursive=True)))
    assert len(os.listdir(srv.data / "small0")) == 1000 and len(os.listdir(remote_dir / "small0")) == 1000
    mt, ms = median(tp), median(sp)
    print(f"  put 1,000 x 16 KiB: tf:// {mt:.2f} s, sshfs {ms:.2f} s (rounds: "
          f"{', '.join(f'{a:.2f}/{b:.2f}' for a, b in zip(tp, sp))})", flush=True)
    check("put 1,000 x 16 KiB tf:// / sshfs", ms / mt, 5, results, "fs_put_small_vs_sshfs")
    tffs.close()

    script = base / "rss.py"
    script.write_text(RSS_CHILD)
    r = subprocess.run([sys.executable, str(script), srv.addr, str(srv.pub), srv.hash, "256"], check=True,
                       capture_output=True, text=True)
    grown = int(r.stdout.split()[-1])
    ok = grown < 64
    print(f"  open('wb') of 256 MiB: peak RSS grew {grown} MiB (target < 64 MiB) {'ok' if ok else 'MISSED'}",
          flush=True)
    results.update(fs_wb_rss_mib=str(grown), fs_wb_rss_ok="1" if ok else "0")


def bench_everyday_part(srv, sshd, base, results, runs, cases):
    """Part 7 (benches/python/everyday.py) on this run's tfd and sshd."""
    import fsspec
    from sshfs import SSHFileSystem

    from everyday import bench_everyday

    tffs = fsspec.filesystem("tf", host=srv.addr, key=str(srv.pub), hash=srv.hash, skip_instance_cache=True)
    ssh = SSHFileSystem(HOST, port=sshd.port, username=sshd.user, client_keys=[str(sshd.dir / "client_key")],
                        known_hosts=None, skip_instance_cache=True)
    (sshd.dir / "everyday").mkdir(exist_ok=True)
    bench_everyday(tffs, ssh, srv.data, sshd.dir / "everyday", base / "everyday", results, runs, cases)
    tffs.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="64 MiB instead of 1 GiB, one run")
    ap.add_argument("--pypi-python", default=sys.executable, help="python with tfprotocol-client 1.2.2")
    ap.add_argument("--pypi-timeout", type=float, default=120.0)
    ap.add_argument("--tf", default=os.environ.get("TF_BIN", ""))
    ap.add_argument("--only", choices=["fsspec", "everyday"], help="run one part")
    ap.add_argument("--cases", default=",".join(EVERYDAY_CASES),
                    help="part 7's cases, comma-separated (" + ", ".join(EVERYDAY_CASES) + ")")
    a = ap.parse_args()
    cases = tuple(c for c in a.cases.split(",") if c)
    if not set(cases) <= set(EVERYDAY_CASES):
        ap.error(f"--cases: one of {', '.join(EVERYDAY_CASES)}")
    tfd_bin = os.environ["TFD_BIN"]
    tf_bin = a.tf or str(Path(tfd_bin).with_name("tf"))
    size = (64 << 20) if a.quick else GiB
    runs = 1 if a.quick else 2
    results = {"size_mib": str(size >> 20)}
    base = Path(tempfile.mkdtemp(prefix="tfd-bench-python-", dir=os.environ.get("TMPDIR", "/var/tmp")))
    srv = sshd = None
    try:
        (base / "tfd").mkdir()
        srv = Tfd(base / "tfd", tfd_bin)
        if a.only == "fsspec":
            (base / "ssh").mkdir()
            sshd = Sshd(base / "ssh")
            bench_fsspec(srv, sshd, tf_bin, base, results)
        elif a.only == "everyday":
            (base / "ssh").mkdir()
            sshd = Sshd(base / "ssh")
            bench_everyday_part(srv, sshd, base, results, 1 if a.quick else 3, cases)
        else:
            src = base / "src.bin"
            make_file(src, size)
            bench_tf(srv, tf_bin, src, size, runs, results)
            bench_sndfile(srv, a.pypi_python, 64 << 10, a.pypi_timeout, results)
            (base / "ssh").mkdir()
            sshd = Sshd(base / "ssh")
            bench_sftp(srv, sshd, src, size, results)
            bench_small(srv, sshd, 200 if a.quick else 1000, results)
            bench_tree(srv, tf_bin, 200, results)
            bench_fsspec(srv, sshd, tf_bin, base, results, runs=1 if a.quick else 3)
            bench_everyday_part(srv, sshd, base, results, 1 if a.quick else 3, cases)
    finally:
        if sshd:
            sshd.stop()
        if srv:
            srv.stop()
        shutil.rmtree(base, ignore_errors=True)
    print("BENCH_PYTHON " + " ".join(f"{k}={v}" for k, v in results.items()), flush=True)


if __name__ == "__main__":
    main()
