"""The wheel (issue 45): `scripts/package python` builds one abi3 manylinux
wheel, and pip installs it into a fresh venv on a PATH without cargo or rustc
and without an index: the package then talks to a real tfd."""

import glob
import os
import shutil
import subprocess
import sys
import textwrap

from conftest import REPO

CHECK = textwrap.dedent("""
    import sys, tfd_client
    addr, key, hash_, venv = sys.argv[1:5]
    assert tfd_client.__file__.startswith(venv), tfd_client.__file__
    with tfd_client.connect(addr, key=key, hash=hash_) as s:
        s.write_bytes("from-wheel.txt", b"installed without Rust")
        print(s.read_bytes("from-wheel.txt").decode())
""")


def test_the_wheel_installs_and_runs_without_rust(tfd, tmp_path):
    wheels = tmp_path / "wheels"
    r = subprocess.run([str(REPO / "scripts" / "package"), "python", "--out", str(wheels)], capture_output=True,
                       text=True, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    built = glob.glob(str(wheels / "tfd_client-*-cp39-abi3-manylinux*_x86_64.whl")) or glob.glob(
        str(wheels / "tfd_client-*-cp39-abi3-manylinux*.whl"))
    assert len(built) == 1, os.listdir(wheels)
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # a PATH without Rust: no directory holding cargo or rustc
    path = os.pathsep.join([str(venv / "bin")] + [
        d for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not any(os.path.exists(os.path.join(d, t)) for t in ("cargo", "rustc"))])
    assert shutil.which("cargo", path=path) is None and shutil.which("rustc", path=path) is None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO", "RUSTUP", "VIRTUAL_ENV"))}
    env["PATH"] = path
    r = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-index", "--disable-pip-version-check", built[0]],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (tmp_path / "check.py").write_text(CHECK)
    r = subprocess.run([str(venv / "bin" / "python"), str(tmp_path / "check.py"), tfd.addr, str(tfd.key_file),
                        tfd.hash, str(venv)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "installed without Rust"
    assert (tfd.data / "from-wheel.txt").read_bytes() == b"installed without Rust"
