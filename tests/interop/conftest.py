"""Fixtures that run the real tfd binary (env TFD_BIN) over loopback and connect
the public Python client (tfprotocol-client 1.2.2) to it.

Fixtures:
  tfd    one server per test module (module scope); tests sharing it work in
         their own directory (fixture `wd`) so they do not see each other.
  fresh  a server of its own for one test (where the whole root matters).
  tf     a connected TfProtocol client on the module's server.
  wd     a fresh directory inside the module server's data dir.
Each server: temp dir with data/, an RSA-2048 key, a config in tfd's format,
`tfd -c <conf>` in the foreground; on teardown SIGTERM (SIGKILL after 5 s), and
the test fails if tfd did not exit 0 or its log mentions "panicked". Should
pytest die without its teardown (SIGKILL, a timeout), harness_watchdog's
watcher kills every server still running, with its sessions, and removes its
temp dir.

TFD_INTEROP_CLIENT=compat runs the same tests through tfd_client.compat, tfd's
drop-in for tfprotocol_client (scripts/pytest-client): every module
tfprotocol_client.X is tfd_client.compat.X, as it is for an application that
replaced the package's name in its imports.
"""

import os
import re
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import harness_watchdog
import pytest
from tfd_host import free_port, let_users_reach


def _client_is_compat() -> bool:
    """Points every tfprotocol_client module at tfd_client.compat's."""
    if os.environ.get("TFD_INTEROP_CLIENT", "pypi") != "compat":
        return False
    import importlib
    import pkgutil
    import sys

    import tfd_client.compat as compat

    sys.modules["tfprotocol_client"] = compat
    for m in pkgutil.walk_packages(compat.__path__, compat.__name__ + "."):
        sys.modules["tfprotocol_client" + m.name[len(compat.__name__):]] = importlib.import_module(m.name)
    return True


COMPAT = _client_is_compat()

from tfprotocol_client.tfprotocol import TfProtocol  # noqa: E402  (after the switch above)

PROTO = "2.4.1"
HOST = "127.0.0.1"
# Bounds, not timings (a start takes well under a second): 30 s, as the Rust
# harness's Server::wait_ready, for a machine loaded with builds.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
# Per-test wall-clock limit: the client loops forever on a socket EOF while it
# waits for a reply (connection/client.py _recv), so a server that drops a
# session would otherwise hang the suite. SIGALRM turns that into a failure.
# A guard against a hang, not a timing: the client enciphers in pure Python,
# and test_metrics_follow_real_sessions alone takes 7-9 s of CPU (a 30 KB
# SNDFILE and RCVFILE), 54-60 s of wall clock on 2 cores at load 13-15, where
# 60 s failed it; 300 s holds under such load and still ends a hung test.
TEST_TIMEOUT = int(os.environ.get("INTEROP_TEST_TIMEOUT", "300"))
# Socket timeout for the client once connected (its own default is 120000 s).
CLIENT_TIMEOUT = 20.0


def _tfd_bin() -> str:
    b = os.environ.get("TFD_BIN", "")
    if not b:
        raise pytest.UsageError("TFD_BIN is not set: run scripts/interop, or export TFD_BIN=/path/to/tfd")
    if not os.access(b, os.X_OK):
        raise pytest.UsageError(f"TFD_BIN={b} is not executable")
    return os.path.abspath(b)


def pytest_configure(config):
    _tfd_bin()


# --- a labelled closing line per run ---------------------------------------
# scripts/test runs this suite twice (directly, then through a proxying tfd);
# `-q` runs print dots only, so each run ends with its own line naming the run,
# in the plain "N passed, N failed" form CI reads.

_OUTCOMES = {"passed": 0, "failed": 0, "skipped": 0, "collected": 0}


def _run_label():
    via = os.environ.get("TFD_INTEROP_PROXY", "")
    return f"interop-proxy-ipv{via}" if via else "interop-direct"


def pytest_collection_finish(session):
    _OUTCOMES["collected"] = len(session.items)


def pytest_runtest_logreport(report):
    if report.when == "call":
        _OUTCOMES[report.outcome] = _OUTCOMES.get(report.outcome, 0) + 1
    elif report.failed:
        _OUTCOMES["failed"] += 1  # a failed setup or teardown
    elif report.skipped and report.when == "setup":
        _OUTCOMES["skipped"] += 1


def pytest_sessionfinish(session, exitstatus):
    """Every collected test ran and passed, or the run fails: a skip, a test
    that never reported, or no test at all (pytest's exit 5) is not a pass
    (interop_lib.require; locally, a recorded skip is allowed)."""
    if session.config.option.collectonly:
        return
    o = _OUTCOMES
    from interop_lib import strict

    if exitstatus == 0 and o["collected"] == 0:
        session.exitstatus = 1
        print(f"\n{_run_label()}: no test collected", flush=True)
    elif exitstatus == 0 and strict() and o["passed"] != o["collected"]:
        session.exitstatus = 1
        print(f"\n{_run_label()}: {o['passed']} passed of {o['collected']} collected: every test must run", flush=True)


def pytest_unconfigure(config):
    if config.option.collectonly:
        return
    o = _OUTCOMES
    line = f"{_run_label()}: {o['passed']} passed, {o['failed']} failed"
    if o["skipped"]:
        line += f", {o['skipped']} not run"
    line += f" (of {o['collected']} collected)"
    print("\n" + line, flush=True)


# --- keys -----------------------------------------------------------------

def _generate_keypair():
    """RSA-2048 (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM). The client
    depends on pycryptodome, not on `cryptography`; use whichever is there, else
    the openssl command."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        priv = k.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        pub = k.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return priv, pub
    except ImportError:
        pass
    try:
        from Crypto.PublicKey import RSA

        k = RSA.generate(2048)
        return k.export_key(pkcs=8).decode(), k.publickey().export_key().decode()
    except ImportError:
        pass
    priv = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        check=True, capture_output=True, text=True,
    ).stdout
    pub = subprocess.run(
        ["openssl", "pkey", "-pubout"], input=priv, check=True, capture_output=True, text=True
    ).stdout
    return priv, pub


@pytest.fixture(scope="session")
def keypair():
    return _generate_keypair()


# --- the server -------------------------------------------------------------

class TfdServer:
    """One running tfd with its own root, key, hash and port."""

    def __init__(self, base: Path, keypair, extra_conf=()):
        self.base = Path(base)
        self.data = self.base / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = None
        self.hash = secrets.token_hex(24)
        self.private_pem, self.public_pem = keypair
        self.key_file = self.base / "key.pem"
        self.key_file.write_text(self.private_pem)
        self.key_file.chmod(0o600)
        self.conf = self.base / "tfd.conf"
        self.log_file = self.base / "tfd.log"
        self.extra_conf = list(extra_conf)
        self.proc = None
        self.clients = []
        self.is_root = os.geteuid() == 0
        # TFD_INTEROP_PROXY=4|6: clients reach this server through a second tfd
        # configured as a transparent proxy (trp_ipv4 127.0.0.2 / trp_ipv6 ::1) on
        # the same port; the tests' disk checks still see this server's root.
        self.via = os.environ.get("TFD_INTEROP_PROXY", "")
        self.listen_host = {"4": "127.0.0.2", "6": "::1"}.get(self.via, HOST)
        self.proxy = None

    def config_text(self) -> str:
        lines = [
            f"proto {PROTO}",
            f"hash {self.hash}",
            f"dbdir {self.data}",
            f"port {self.port}",
            f"listen {self.listen_host}",
            f"privkey_file {self.key_file}",
        ]
        # its own control socket (the default, /run/tfd/ctl.sock, left an
        # empty /run/tfd behind every run as root)
        if not any(l.split()[:1] == ["control_socket"] for l in self.extra_conf):
            lines.append(f"control_socket {self.base / 'ctl.sock'}")
        multi_user = any(l.split()[:1] in (["userdb"], ["defusr"]) for l in self.extra_conf)
        if self.is_root and multi_user:
            let_users_reach(self.data)
        if self.is_root and not multi_user:
            # As root without defusr, tfd requires LOGIN; servers given a userdb
            # (or their own defusr) are left that way, the others serve as root.
            # As another user tfd serves as that user.
            lines.append("defusr root")
        lines += self.extra_conf
        return "\n".join(lines) + "\n"

    def start(self):
        # before the first spawn: a harness killed right after it leaves nothing
        harness_watchdog.watch_dir(self.base)
        harness_watchdog.watch_marker(str(self.conf))
        for _attempt in range(5):
            # free on both addresses the port is used on (the proxy's and the
            # backend's), so the proxy does not meet a port taken on its own
            self.port = free_port(HOST, self.listen_host) if self.via else free_port()
            self.conf.write_text(self.config_text())
            env = dict(os.environ, RUST_BACKTRACE="1")
            with open(self.log_file, "ab") as log:
                self.proc = subprocess.Popen(
                    [_tfd_bin(), "-c", str(self.conf)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    cwd=self.base, env=env, start_new_session=True,
                )
            harness_watchdog.watch_group(self.proc.pid)
            if self._wait_ready():
                if not self.via:
                    return self
                proxy = self._start_proxy()
                if proxy is None:
                    return self
                self._kill_proxy()
                self._kill()
                if proxy == "in use":
                    continue  # another program took the proxy's port meanwhile: another port
                raise RuntimeError(f"the proxy tfd did not come up on {HOST}:{self.port} ({proxy}):\n{self.log()}")
            rc = self.proc.poll()
            log_text = self.log()
            if rc is not None and re.search(r"(?i)address.*in use", log_text):
                continue  # lost the race for the port: try another one
            self._kill()
            raise RuntimeError(f"tfd did not come up on {self.host}:{self.port} (exit {rc}):\n{log_text}")
        raise RuntimeError(f"tfd could not bind a port:\n{self.log()}")

    def _start_proxy(self):
        """The transparent proxy in front of this server (TFD_INTEROP_PROXY):
        None once it answers on the port, "in use" when another program took
        the port first (the caller tries another), else why it did not come up."""
        base = self.base / "proxy"
        (base / "data").mkdir(parents=True, exist_ok=True)
        target = "trp_ipv4 127.0.0.2" if self.via == "4" else "trp_ipv6 ::1"
        conf = base / "tfd.conf"
        harness_watchdog.watch_marker(str(conf))
        conf.write_text(
            "\n".join([f"proto {PROTO}", f"hash {self.hash}", f"dbdir {base / 'data'}", f"port {self.port}",
                       f"listen {HOST}", f"privkey_file {self.key_file}", target]
                      + (["defusr root"] if self.is_root else [])) + "\n")
        since = self.log_file.stat().st_size if self.log_file.exists() else 0
        with open(self.log_file, "ab") as log:
            self.proxy = subprocess.Popen([_tfd_bin(), "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=log, cwd=base, start_new_session=True)
        harness_watchdog.watch_group(self.proxy.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            rc = self.proxy.poll()
            if rc is not None:
                with open(self.log_file, "rb") as f:
                    f.seek(since)
                    said = f.read().decode(errors="replace")
                return "in use" if re.search(r"(?i)address.*in use", said) else f"exit {rc}"
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return None
            except OSError:
                time.sleep(0.05)
        return f"not listening after {START_TIMEOUT:.0f} s"

    def _kill_proxy(self):
        if self.proxy is None:
            return
        try:
            os.killpg(self.proxy.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proxy.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        else:
            harness_watchdog.forget("group", self.proxy.pid)
        self.proxy = None

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection((self.listen_host, self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def client(self, keylen: int = 16, proto: str = PROTO, hash_: str = None) -> TfProtocol:
        """A TfProtocol client for this server, not connected yet."""
        c = TfProtocol(
            proto, self.public_pem, self.hash if hash_ is None else hash_, self.host, self.port, keylen=keylen
        )
        self.clients.append(c)
        return c

    def connect(self, keylen: int = 16, timeout: float = CLIENT_TIMEOUT) -> TfProtocol:
        """A TfProtocol client that completed the handshake (version, RSA session
        key, hash) with this server."""
        c = TfProtocol(PROTO, self.public_pem, self.hash, self.host, self.port, keylen=keylen)
        failures = []
        assert c.connect(on_response=failures.append) is True, failures
        c.client.socket.settimeout(timeout)
        self.clients.append(c)
        return c

    def disconnect_all(self):
        for c in self.clients:
            try:
                c.disconnect()
            except Exception:  # noqa: BLE001 - teardown best effort
                pass
        self.clients.clear()

    def log_size(self) -> int:
        try:
            return self.log_file.stat().st_size
        except FileNotFoundError:
            return 0

    def health(self, since: int = 0):
        """Problems visible while running: the daemon died, or something panicked
        (in the log after byte offset `since`)."""
        problems = []
        if self.proc is not None and self.proc.poll() is not None:
            problems.append(f"tfd exited early with code {self.proc.returncode}")
        with open(self.log_file, "rb") as f:
            f.seek(since)
            if b"panicked" in f.read():
                problems.append("tfd log contains 'panicked'")
        return problems

    def _kill(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        else:
            harness_watchdog.forget("group", self.proc.pid)

    def stop(self):
        """SIGTERM, wait up to 5 s, else SIGKILL. Returns a list of problems."""
        self.disconnect_all()
        problems = []
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.send_signal(signal.SIGTERM)
            try:
                self.proxy.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                problems.append("the proxy tfd did not exit on SIGTERM")
                os.killpg(self.proxy.pid, signal.SIGKILL)
            if self.proxy.returncode not in (0, None):
                problems.append(f"the proxy tfd exited with code {self.proxy.returncode}")
        if self.proc is None:
            return problems
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                problems.append(f"tfd did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM")
                self._kill()
        rc = self.proc.returncode
        if rc not in (0, None) and not problems:
            problems.append(f"tfd exited with code {rc}")
        # Session processes live in tfd's process group: none may outlive it.
        deadline = time.monotonic() + 1.0
        while True:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            if time.monotonic() > deadline:
                problems.append("processes of tfd's group outlived it (killed)")
                self._kill()
                break
            time.sleep(0.05)
        if "panicked" in self.log():
            problems.append("tfd log contains 'panicked'")
        # stopped and checked: its pids may be reused, its directory stays for a look
        if self.proxy is not None and self.proxy.poll() is not None:
            harness_watchdog.forget("group", self.proxy.pid)
        if self.proc.poll() is not None:
            harness_watchdog.forget("group", self.proc.pid)
        harness_watchdog.forget("dir", self.base)
        return problems


def _finish(server: TfdServer):
    problems = server.stop()
    if problems:
        tail = "\n".join(server.log().splitlines()[-40:])
        pytest.fail("; ".join(problems) + f"\n--- tfd log ({server.log_file}) ---\n{tail}", pytrace=False)


@pytest.fixture(scope="module")
def tfd(tmp_path_factory, keypair):
    server = TfdServer(tmp_path_factory.mktemp("tfd"), keypair).start()
    yield server
    _finish(server)


@pytest.fixture
def make_tfd(tmp_path_factory, keypair):
    """Factory: make_tfd(extra_conf=[...]) starts a server of its own with extra
    config lines (e.g. a userdb for LOGIN); all are stopped and checked at teardown."""
    servers = []

    def make(extra_conf=()):
        server = TfdServer(tmp_path_factory.mktemp("tfd"), keypair, extra_conf).start()
        servers.append(server)
        return server

    yield make
    problems = []
    for server in servers:
        try:
            _finish(server)
        except pytest.fail.Exception as e:
            problems.append(str(e))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def fresh(make_tfd):
    """A server of its own, for tests that need the whole root."""
    return make_tfd()


@pytest.fixture
def tf(tfd):
    log_start = tfd.log_size()
    c = tfd.connect()
    yield c
    try:
        c.disconnect()
    except Exception:  # noqa: BLE001
        pass
    tfd.clients = [x for x in tfd.clients if x is not c]
    problems = tfd.health(since=log_start)
    if problems:
        pytest.fail("; ".join(problems) + "\n" + tfd.log()[-4000:], pytrace=False)


class WorkDir:
    """A directory of the served tree: `name` as the protocol names it (relative
    to the root), `path` on disk; `rel(x)` / `disk(x)` for things inside it."""

    def __init__(self, root: Path, name: str):
        self.root = root
        self.name = name
        self.path = root / name
        self.path.mkdir()

    def rel(self, *parts) -> str:
        return "/".join((self.name,) + parts)

    def disk(self, *parts) -> Path:
        return self.path.joinpath(*parts)


@pytest.fixture
def wd(tfd, request):
    name = "t_" + re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:80] + "_" + secrets.token_hex(3)
    return WorkDir(tfd.data, name)


@pytest.fixture(autouse=True)
def _deadline():
    def expired(_sig, _frame):
        raise TimeoutError(f"test exceeded {TEST_TIMEOUT} s (client blocked on the server?)")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)
