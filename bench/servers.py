"""Starting what a load benchmark talks to: a free port on 127.0.0.1, a bench's own app
under uvicorn in a child process, and waiting until it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_up(url: str, seconds: float = 120) -> None:
    """A loaded machine can take a minute to start a server; only a dead one is given up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def start_app(app: str, port: int, env: dict[str, str], workers: int = 1) -> subprocess.Popen:
    """``app`` ("module:factory" of a file in bench/) served by uvicorn on 127.0.0.1."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--app-dir",
            str(ROOT / "bench"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz", seconds=60)
    except SystemExit:
        server.kill()
        raise
    return server


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server and its worker processes (Linux /proc)."""
    return _cpu(lambda entry, name, parent: entry == pid or parent == pid)


def postgres_cpu() -> float:
    """CPU seconds used so far by the machine's PostgreSQL processes (Linux /proc)."""
    return _cpu(lambda entry, name, parent: name == "postgres")


def _cpu(counted) -> float:
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                head, _, tail = handle.read().rpartition(")")
        except OSError:
            continue
        fields = tail.split()  # fields[1] is the parent pid; 11 and 12 user and system time
        if counted(int(entry), head.partition("(")[2], int(fields[1])):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total
