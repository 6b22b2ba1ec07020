"""The phase probe, loaded into the server under test only (`bench/phases.py` puts this
directory first on its PYTHONPATH): the CPU time of the server's own threads spent in
named functions, counted by `time.thread_time` around each call.

A sampling profiler counts a thread waiting in a system call it cannot tell from work
(py-spy put 20% of a measurement batch's samples in the COPY exchange, whose thread CPU
is 6%); the thread's CPU clock counts only what it ran. Nested targets each count their
own calls (a parent's time includes its children's, and each probe's own cost, about two
clock reads). The counts are written as JSON to BENCH_PHASES_OUT every half second."""

from __future__ import annotations

import os

if os.environ.get("BENCH_PHASES"):
    import sys

    sys.path[:] = [p for p in sys.path if not p.endswith("phase_probe")]
    from bench.phase_probe_install import arm

    arm(os.environ["BENCH_PHASES"].split(","), os.environ["BENCH_PHASES_OUT"])
