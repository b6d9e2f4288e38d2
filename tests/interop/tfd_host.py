"""What both Python suites need around a real tfd, with no TF Protocol client
in it: the interop suite (tests/interop, the PyPI client or tfd_client.compat)
and the Python package's own tests (python/tests, which put this folder on
sys.path). A free loopback port, search permission for LOGIN users on the way
to the served root, system users made for a test and removed after it, and a
user file made by tfpasswd."""

import os
import pwd
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

_CREATED_USERS = []


def free_port(host: str = "127.0.0.1", *also: str) -> int:
    """A TCP port free on `host` and on each of `also` just now (a server that
    loses the race retries)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
            try:
                for other in also:
                    family = socket.AF_INET6 if ":" in other else socket.AF_INET
                    with socket.socket(family, socket.SOCK_STREAM) as o:
                        o.bind((other, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no TCP port free on {host} and {', '.join(also)} in 50 tries")


def let_users_reach(data: Path) -> None:
    """tfd refuses to start when a LOGIN user cannot open the served root
    (daemon/checks.rs); pytest's temporary tree is 0700, so the directories of
    ours between the temporary directory and `data` get search permission."""
    top = Path(tempfile.gettempdir()).resolve()
    d = Path(data).resolve()
    while d != top and top in d.parents:
        st = d.stat()
        if st.st_uid == os.geteuid():
            d.chmod(stat.S_IMODE(st.st_mode) | 0o011)
        d = d.parent


def system_user(name: str) -> pwd.struct_passwd:
    """The system user `name`, created if missing; remove_created_users()
    deletes the ones created here."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                           check=False, capture_output=True)
        if r.returncode == 0:
            _CREATED_USERS.append(name)
        return pwd.getpwnam(name)


def remove_created_users() -> None:
    """Deletes the system users system_user() created (a session process of
    theirs may still be ending: a few tries, then --force)."""
    while _CREATED_USERS:
        name = _CREATED_USERS.pop()
        for _ in range(20):
            if subprocess.run(["userdel", name], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(["userdel", "--force", name], capture_output=True)


def make_userdb(tfpasswd: str, db: Path, user: str, sysuser: str, password: str) -> Path:
    """A user file at `db` with `user` (password `password`) mapped to the
    system user `sysuser`, made if missing; cheap hashing rounds for tests."""
    system_user(sysuser)
    out = subprocess.run([tfpasswd, "-f", str(db), "add", user, "--system-user", sysuser, "--rounds", "1000",
                          "--stdin"], input=(password + "\n").encode(), capture_output=True)
    assert out.returncode == 0, out
    return db
