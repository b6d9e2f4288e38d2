"""connect(bwlimit=...) and the tree runs' retries=: tf's --bwlimit and
--retries handed to tfp-client (one token bucket for the session and every
connection it opens; the library's retry loop), no logic of the binding's."""

import time

import pytest

SIZE = 256 * 1024


@pytest.mark.parametrize("rate", ["2M", 2 * 1024 * 1024, "00:00,2M 12:00,2048K"])
def test_bwlimit_holds_a_tree_and_its_jobs_together(tfd, tmp_path, rate):
    src = tmp_path / "t"
    src.mkdir()
    for i in range(8):
        (src / f"f{i}.bin").write_bytes(bytes([i]) * SIZE)
    name = f"gentle_{abs(hash(str(rate)))}"
    with tfd.connect(bwlimit=rate) as s:
        t = time.monotonic()
        r = s.put_tree(src, name, jobs=4, retries=2)
        took = time.monotonic() - t
    # 2 MiB at 2 MiB/s over four sessions: a lower bound only
    assert took >= 0.7, took
    assert r.tries == 1
    for i in range(8):
        assert (tfd.data / name / f"f{i}.bin").read_bytes() == bytes([i]) * SIZE


@pytest.mark.parametrize("bad", ["fast", "2X", "10B", "8:00,1M"])
def test_a_rate_tf_would_refuse_is_a_value_error(tfd, bad):
    with pytest.raises(ValueError, match="bwlimit"):
        tfd.connect(bwlimit=bad)
