"""README's "From Python" example, run as it stands against `tfd demo`: the
example is read from README.md, only its port replaced by a free one, and run
by this venv's Python (the package pip installed from the checkout) in the
directory the demo serves from, as a reader would run it."""

import re
import socket
import subprocess
import sys
import time

from conftest import HOST, REPO, tfd_bin
from tfd_host import free_port


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "README's From Python section has one python example"
    return blocks[0]


def test_readme_example_runs_against_the_demo(tmp_path):
    port = free_port(HOST)
    code = readme_example()
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
        out = r.stdout.splitlines()
        assert out[0] == "hello secure: True", out
        assert "file q1.csv 22" in out, out
        assert "b'north'" in out, out
        assert "2 files moved" in out, out
        assert any(line.startswith("not found: ") for line in out), out
        served = tmp_path / "tfd-demo" / "data"
        assert (served / "www" / "css" / "main.css").read_text() == "h1 { color: teal }\n"
        assert (tmp_path / "q1-copy.csv").read_bytes() == b"region,total\nnorth,12\n"
    finally:
        demo.terminate()
        try:
            demo.wait(10)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
