"""A revoked token is refused at once by every process: the server answering requests
is one process, `mercato tokens revoke` another."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mercato.auth import service
from mercato.db import transaction

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(engine, settings, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "mercato.cli", "serve", "--port", str(port), "--no-worker"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def test_a_token_revoked_by_another_process_is_refused_on_the_next_request(server, sessions):
    with transaction(sessions) as session:
        new = service.create_token(session, "ci", ["catalog:read"])
    headers = {"Authorization": f"Bearer {new.secret}"}
    with httpx.Client(base_url=server, headers=headers, timeout=10) as api:
        # Busy with this token: anything a process could remember, it has.
        for _ in range(20):
            assert api.get("/api/v1/products").status_code == 200
        revoked = subprocess.run(
            [sys.executable, "-m", "mercato.cli", "tokens", "revoke", new.token.prefix],
            cwd=ROOT,
            env=dict(os.environ),
            capture_output=True,
            text=True,
        )
        assert revoked.returncode == 0, revoked.stdout + revoked.stderr
        answers = [api.get("/api/v1/products").status_code for _ in range(20)]
    assert answers == [401] * 20
