"""README's "From Python" example and python/README.md's Examples, run as
they stand against `tfd demo`: the examples are read from the READMEs, only
their port replaced by a free one, and run by this venv's Python (the package
pip installed from the checkout) in the directory the demo serves from, as a
reader would run them."""

import errno
import re
import shlex
import socket
import subprocess
import sys
import threading
import time

from conftest import HOST, REPO, tfd_bin
from tfd_host import free_port


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "README's From Python section has one python example"
    return blocks[0]


def python_readme_examples() -> str:
    """python/README.md's Examples: its python blocks, one script."""
    text = (REPO / "python" / "README.md").read_text()
    section = text.split("\n## Examples\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) >= 2, "python/README.md's Examples section has its python blocks"
    return "\n".join(blocks)


def run_with_demo(tmp_path, code: str) -> subprocess.CompletedProcess:
    """`code` (its 127.0.0.1:10345 replaced by a free port) run by this venv's
    Python in a directory `tfd demo` serves from."""
    port = free_port(HOST)
    assert "127.0.0.1:10345" in code
    (tmp_path / "example.py").write_text(code.replace("127.0.0.1:10345", f"{HOST}:{port}"))
    demo = subprocess.Popen([tfd_bin(), "demo", "--port", str(port)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert demo.poll() is None, demo.stdout.read()
            try:
                socket.create_connection((HOST, port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "tfd demo did not listen"
                time.sleep(0.05)
        r = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        return r
    finally:
        demo.terminate()
        try:
            demo.wait(10)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()


def test_readme_example_runs_against_the_demo(tmp_path):
    out = run_with_demo(tmp_path, readme_example()).stdout.splitlines()
    assert out[0] == "hello secure: True", out
    assert "file q1.csv 22" in out, out
    assert "b'north'" in out, out
    assert "2 files moved" in out, out
    assert any(line.startswith("not found: ") for line in out), out
    served = tmp_path / "tfd-demo" / "data"
    assert (served / "www" / "css" / "main.css").read_text() == "h1 { color: teal }\n"
    assert (tmp_path / "q1-copy.csv").read_bytes() == b"region,total\nnorth,12\n"


def test_python_readme_examples_run_against_the_demo(tmp_path):
    out = run_with_demo(tmp_path, python_readme_examples()).stdout.splitlines()
    served = tmp_path / "tfd-demo" / "data" / "demo"
    assert out[0].startswith("missing: 2 "), out
    assert out[1] == f"rmdir: DirectoryNotEmpty {errno.ENOTEMPTY}", out
    assert not (served / "tree").exists()
    assert (served / "log.txt").read_bytes() == b"".join(b"line %d\n" % i for i in range(1000))
    assert out[2] == repr(b"chunk 0\nchunk 1\nchunk 2\n"), out
    assert out[3] == "19", out
    assert (served / "q1.csv").read_text() == "region,total\nnorth,12\nsouth,7\n"
    assert (served / "q1.parquet").read_bytes()[:4] == b"PAR1"
    assert out[4] == repr(["demo/gen.txt", "demo/log.txt", "demo/q1.csv", "demo/q1.parquet"]), out
    assert out[5] == repr(b"line 0\n"), out
    assert out[6] == repr(["0.txt", "1.txt", "2.txt"]), out
    assert (served / "aio" / "2.txt").read_bytes() == b"2"


def test_the_demo_prints_a_python_line_that_works_as_printed(tmp_path):
    """What `tfd demo` prints for Python, where a checkout is (./python): the
    venv line, and a `tfd-venv/bin/python -c ...` line run here as printed,
    with this venv's Python (the one the venv line makes, with this package
    installed) in its place, in the demo's directory: it answers hello."""
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "pyproject.toml").write_text("# stands for the checkout's\n")
    port = free_port(HOST)
    demo = subprocess.Popen([tfd_bin(), "demo", "--port", str(port)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watchdog = threading.Timer(60, demo.kill)
    watchdog.start()
    try:
        banner = []
        for line in demo.stdout:
            banner.append(line)
            if line.startswith("Stop with Ctrl-C."):
                break
        text = "".join(banner)
        assert "python3 -m venv tfd-venv && tfd-venv/bin/pip install ./python" in text, text
        lines = [l.strip() for l in banner if l.strip().startswith("tfd-venv/bin/python -c ")]
        assert len(lines) == 1, text
        cmd = lines[0].replace("tfd-venv/bin/python", shlex.quote(sys.executable), 1)
        r = subprocess.run(cmd, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{cmd}\n{r.stderr}"
        assert r.stdout.strip() == "hello", r.stdout
    finally:
        watchdog.cancel()
        demo.terminate()
        try:
            demo.wait(10)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
