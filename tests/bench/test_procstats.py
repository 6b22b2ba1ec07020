"""The sampler's care for the database's backends (bench/procstats.py)."""

from __future__ import annotations

import os
import subprocess

import pytest
from bench.procstats import level_with_harness


def test_a_niced_backend_is_given_the_harness_niceness() -> None:
    """A process started at nice 10 (as a backend of a postmaster restarted from a niced
    shell) ends at the harness's own niceness; lowering it needs root, as the bench has."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    niced = subprocess.Popen(["sleep", "30"])
    try:
        os.setpriority(os.PRIO_PROCESS, niced.pid, min(own + 10, 19))
        if os.geteuid() != 0:
            with pytest.raises(PermissionError):
                level_with_harness(niced.pid)
            return
        level_with_harness(niced.pid)
        assert os.getpriority(os.PRIO_PROCESS, niced.pid) == own
    finally:
        niced.kill()
        niced.wait()
