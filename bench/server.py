"""The ONE place that knows how to start the servers under test and what headers to send.

`start_server(...)` runs `samhandling serve` (or the bare ceiling app) as a separate process
pinned with `taskset`; `auth_headers(...)` gives the headers every benchmark request carries.

Authentication: when the `samhandling` command has both `serve --dev-issuer` and a `token`
command, the server is started with `--dev-issuer` and every request carries
`Authorization: Bearer <samhandling token --persona system>` (minted for the same data
directory and base URL); a workload may name another persona (a clinician's token carries
the purpose of use TREAT). Without them (older checkouts) both are off.
Force either way with SAMHANDLING_BENCH_AUTH=1 / =0.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
SAMHANDLING = [sys.executable, "-m", "samhandling.cli"]
SERVER_ENV = {
    # Bundles of the largest Synthea patients are ~11 MB; the default limit is 10 MiB.
    "SAMHANDLING_MAX_BODY_BYTES": str(64 * 2**20),
    "SAMHANDLING_LOG_LEVEL": "WARNING",
    # The benchmark database holds no base registers (HPR, organisations) for the system
    # persona; as in the test suite, the check is off. It is cached per caller, so it
    # would cost nothing per request in a steady state anyway.
    "SAMHANDLING_CHECK_REGISTERS": "0",
    # The harness measures the API. With no live subscription the workers' rounds are rare
    # (the notifications worker looks once a second) and the bulk export's worker waits for
    # jobs; `--background-workers` runs them, as production does. Deliveries have their
    # own benchmark (`python -m bench.notifications`), which runs its workers.
    "SAMHANDLING_BACKGROUND_WORKERS": "0",
}
# `--without-audit`: the server's benchmark-only switch that leaves out the audit trail, to
# measure what the trail costs (the server refuses it in production mode).
WITHOUT_AUDIT_ENV = {"SAMHANDLING_BENCHMARK_WITHOUT_AUDIT": "1"}


@functools.cache
def auth_enabled() -> bool:
    """Whether the server has the development issuer (see the module docstring)."""
    forced = os.environ.get("SAMHANDLING_BENCH_AUTH")
    if forced in ("0", "1"):
        return forced == "1"
    import inspect

    from samhandling.cli import main as cli

    token = getattr(cli, "token", None)
    return callable(token) and "dev_issuer" in inspect.signature(cli.serve).parameters


def server_command(database_url: str, port: int, workers: int, data_dir: Path) -> list[str]:
    """The command line of the server under test."""
    command = [
        *SAMHANDLING,
        "serve",
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--database", database_url, "--data-dir", str(data_dir)),
        *("--base-url", f"http://127.0.0.1:{port}/fhir"),
    ]
    if auth_enabled():
        command.append("--dev-issuer")
    return command


@functools.cache
def _token(data_dir: Path, base_url: str, persona: str) -> str:
    command = ["token", "--persona", persona, "--data-dir", str(data_dir), "--base-url", base_url]
    if persona not in ("system", "security-officer", "citizen", "parent"):
        command += ["--purpose", "TREAT"]  # a clinician: care of the patient
    done = subprocess.run(
        [*SAMHANDLING, *command],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **SERVER_ENV},
    )
    return done.stdout.strip().splitlines()[-1]


def auth_headers(data_dir: Path, base_url: str, persona: str = "system") -> dict[str, str]:
    """Headers every benchmark request to the server under test carries (tokens last 1 h)."""
    if auth_enabled():
        return {"Authorization": f"Bearer {_token(data_dir, base_url, persona)}"}
    return {}


def bare_command(database_url: str, port: int, workers: int) -> list[str]:
    """The bare ASGI ceiling app (bench/ceilings/bare_app.py) on the same stack."""
    return [
        *(sys.executable, "-m", "uvicorn", "bench.ceilings.bare_app:create_app", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--log-level", "warning", "--no-access-log"),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin_prefix(cpus: str | None) -> list[str]:
    """`taskset -c CPUS` when pinning, else nothing."""
    return ["taskset", "-c", cpus] if cpus else []


@dataclass
class ServerHandle:
    """A running server process (uvicorn; with workers > 1 its children serve)."""

    kind: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    command: list[str]
    data_dir: Path
    start_again: Callable[[], ServerHandle] | None = None  # `start_server` with its arguments

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def headers(self, persona: str | None = None) -> dict[str, str]:
        if self.kind != "samhandling":
            return {}
        return auth_headers(self.data_dir, self.base_url, persona or "system")

    def restarted(self) -> ServerHandle:
        """This server stopped and started again with the same settings: a fresh process,
        e.g. after it loaded a population whose heap it would carry into measured rounds
        (bench/RESULTS.md, 2026-12-06: an A/A compare put the loading server 4–5% behind)."""
        if self.start_again is None:
            raise RuntimeError("this server was not started by start_server")
        self.stop()
        return self.start_again()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def start_server(
    kind: str,
    database_url: str,
    *,
    work_dir: Path,
    workers: int = 1,
    cpus: str | None = None,
    timeout: float = 60,
    audit: bool = True,
    env: dict[str, str] | None = None,
    source: Path | None = None,
) -> ServerHandle:
    """Start `samhandling` (kind "samhandling") or the bare ceiling app (kind "bare"),
    with `env` added to its environment; with `source` (a directory holding a checkout's
    `samhandling` package, as `bench.compare` extracts one) the server runs that code.

    Waits until /readyz answers 200. The process gets its own process group so that it
    and its workers stop together.
    """
    again = functools.partial(
        start_server,
        kind,
        database_url,
        work_dir=work_dir,
        workers=workers,
        cpus=cpus,
        timeout=timeout,
        audit=audit,
        env=env,
        source=source,
    )
    port = free_port()
    data_dir = work_dir / "server-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    if kind == "samhandling":
        command = server_command(database_url, port, workers, data_dir)
    elif kind == "bare":
        command = bare_command(database_url, port, workers)
    else:
        raise ValueError(kind)
    command = pin_prefix(cpus) + command
    env = {
        **os.environ,
        **SERVER_ENV,
        **({} if audit else WITHOUT_AUDIT_ENV),
        "SAMHANDLING_DATABASE_URL": database_url,
        "BENCH_DATABASE_URL": database_url,
        **(env or {}),
        # a probe's directory (`env`'s PYTHONPATH, bench/phases.py) goes first
        "PYTHONPATH": os.pathsep.join(
            filter(
                None,
                [
                    (env or {}).get("PYTHONPATH"),
                    str(source or ""),
                    str(REPO),
                    os.environ.get("PYTHONPATH"),
                ],
            )
        ),
    }
    log_path = work_dir / f"{kind}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )
    handle = ServerHandle(kind, process, port, log_path, command, data_dir, again)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} server exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return handle
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    handle.stop()
    raise RuntimeError(f"{kind} server did not become ready: {log_path.read_text()[-3000:]}")
