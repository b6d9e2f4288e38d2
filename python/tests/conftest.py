"""Fixtures for the tfd_client tests: a REAL tfd (env TFD_BIN, else the
checkout's target/release/tfd) on loopback with its own key, hash and root,
as tests/interop/conftest.py starts one.

A test that cannot run (no root for LOGIN, tfpasswd missing) FAILS naming
what is missing; it is never skipped. Should pytest die without its teardown
(SIGKILL, a timeout), harness_watchdog's watcher kills every server still
running, with its sessions, and removes its temp dir."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[2]
# the tfd harness the interop suite uses too (no client in it)
sys.path.insert(0, str(REPO / "tests" / "interop"))
import harness_watchdog  # noqa: E402
from tfd_host import free_port, let_users_reach, make_userdb, remove_created_users  # noqa: E402
ROOT = os.geteuid() == 0
PW = "s3cret pass"


def tfd_bin() -> str:
    b = os.environ.get("TFD_BIN") or str(REPO / "target" / "release" / "tfd")
    if not os.access(b, os.X_OK):
        pytest.fail(f"tfd binary {b} missing: build it (cargo build --release --bin tfd --bin tfpasswd) or set TFD_BIN")
    return os.path.abspath(b)


def tfpasswd_bin() -> str:
    return str(Path(tfd_bin()).with_name("tfpasswd"))


def need(have, what):
    """A test that cannot run fails naming what is missing."""
    if not have:
        pytest.fail(f"cannot run: {what}")


def _keypair():
    priv = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                          check=True, capture_output=True, text=True).stdout
    pub = subprocess.run(["openssl", "pkey", "-pubout"], input=priv, check=True, capture_output=True,
                         text=True).stdout
    return priv, pub


@pytest.fixture(scope="session")
def keypair():
    return _keypair()


class Tfd:
    """One running tfd: `addr`, `hash`, `key_file` (public PEM path), `data`."""

    def __init__(self, base: Path, keypair, extra=(), proto="2.4.1"):
        self.base = base
        self.data = base / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.hash = secrets.token_hex(16)
        priv, self.public_pem = keypair
        self.priv = base / "key.pem"
        self.priv.write_text(priv)
        self.priv.chmod(0o600)
        self.key_file = base / "public.pem"
        self.key_file.write_text(self.public_pem)
        self.extra = list(extra)
        self.proto = proto
        self.log = base / "tfd.log"
        self.proc = None

    def start(self):
        multi = any(l.split()[:1] == ["userdb"] for l in self.extra)
        conf = self.base / "tfd.conf"
        # before the first spawn: a harness killed right after it leaves nothing
        harness_watchdog.watch_dir(self.base)
        harness_watchdog.watch_marker(str(conf))
        for _ in range(3):
            self.port = free_port(HOST)
            lines = [f"proto {self.proto}", f"hash {self.hash}", f"dbdir {self.data}", f"port {self.port}",
                     f"listen {HOST}", f"privkey_file {self.priv}"]
            # its own control socket (the default, /run/tfd/ctl.sock, left
            # an empty /run/tfd behind every run as root)
            if not any(str(l).split()[:1] == ["control_socket"] for l in self.extra):
                lines.append(f"control_socket {self.base / 'ctl.sock'}")
            if ROOT and multi:
                let_users_reach(self.data)
            elif ROOT:
                lines.append("defusr root")
            conf.write_text("\n".join(lines + self.extra) + "\n")
            if self._spawn():
                return self
            if "in use" in self.log.read_text(errors="replace"):
                continue
            break
        raise RuntimeError(f"tfd did not start:\n{self.log.read_text(errors='replace')}")

    def _spawn(self) -> bool:
        """Runs tfd on the written tfd.conf; True once it accepts."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([tfd_bin(), "-c", str(self.base / "tfd.conf")], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, cwd=self.base, start_new_session=True)
        harness_watchdog.watch_group(self.proc.pid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def restart(self):
        """Stops the server (its sessions end with it) and starts it again
        on its port, as a service restart does."""
        self.stop()
        if not self._spawn():
            raise RuntimeError(f"tfd did not start again:\n{self.log.read_text(errors='replace')}")

    def restart_with_key(self, keypair):
        """Stops the server and starts it again on its port with another
        private key (a server whose key was replaced, or one posing as it)."""
        self.stop()
        priv, self.public_pem = keypair
        self.priv.write_text(priv)
        self.key_file.write_text(self.public_pem)
        if not self._spawn():
            raise RuntimeError(f"tfd did not start again:\n{self.log.read_text(errors='replace')}")

    @property
    def addr(self):
        return f"{HOST}:{self.port}"

    def connect(self, **kw):
        import tfd_client

        kw.setdefault("key", self.key_file)
        kw.setdefault("hash", self.hash)
        return tfd_client.connect(self.addr, **kw)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc and self.proc.poll() is not None:
            # stopped: its pid may be reused, its directory stays for a look
            harness_watchdog.forget("group", self.proc.pid)
            harness_watchdog.forget("dir", self.base)
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        assert "panicked" not in text, text[-4000:]


@pytest.fixture(scope="module")
def tfd(tmp_path_factory, keypair):
    s = Tfd(tmp_path_factory.mktemp("tfd"), keypair).start()
    yield s
    s.stop()


@pytest.fixture
def make_tfd(tmp_path_factory, keypair):
    servers = []

    def make(extra=(), proto="2.4.1"):
        s = Tfd(tmp_path_factory.mktemp("tfd"), keypair, extra, proto).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def tffs(tfd):
    """The tf:// fsspec filesystem of the module's tfd."""
    import fsspec

    fs = fsspec.filesystem("tf", host=tfd.addr, key=str(tfd.key_file), hash=tfd.hash, skip_instance_cache=True)
    yield fs
    fs.close()


@pytest.fixture
def session(tfd):
    s = tfd.connect()
    yield s
    s.close()


@pytest.fixture
def wd(tfd, session, request):
    """A fresh directory of the served tree: (remote name, local path)."""
    name = "t_" + secrets.token_hex(4)
    session.mkdir(name)
    return name, tfd.data / name


@pytest.fixture(scope="session", autouse=True)
def _remove_users():
    yield
    remove_created_users()


@pytest.fixture
def userdb(tmp_path):
    need(ROOT, "LOGIN needs tfd as root (multi-user mode): run as root")
    need(os.access(tfpasswd_bin(), os.X_OK), f"{tfpasswd_bin()} not built")
    need(subprocess.run(["which", "useradd"], capture_output=True).returncode == 0, "useradd (passwd package)")
    return make_userdb(tfpasswd_bin(), tmp_path / "userdb", "alice", "tfdpyc1", PW)
