"""The harness itself: a pytest run of this suite that is SIGKILLed (no
teardown runs) leaves none of its tfd processes, sessions included, and none
of their directories (harness_watchdog.py)."""

from pathlib import Path

from harness_watchdog import kill_a_running_harness


def test_a_killed_harness_leaves_no_tfd_behind(tmp_path):
    left = kill_a_running_harness(Path(__file__).with_name("harness_victim.py"), tmp_path, tmp_path / "victim.log")
    assert left == "", left
