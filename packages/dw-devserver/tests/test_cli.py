"""The ``dw-devserver start`` command: prints its URL when ready, logs requests at debug level,
enforces the tokens it was given, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx


def test_start_prints_url_logs_requests_and_enforces_tokens() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dw_devserver.cli",
            "start",
            "--port",
            "0",
            "--log-level",
            "debug",
            "--operator-token",
            "op-secret",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("dw-devserver listening on http://127.0.0.1:"), line
        url = line.strip().rsplit(" ", 1)[-1]
        with httpx.Client(base_url=url, timeout=10) as c:
            assert c.get("/api/health").json()["status"] == "serving"
            hdr = {"X-Durable-Workflow-Control-Plane-Version": "2"}
            assert c.get("/api/workflows", headers=hdr).status_code == 401
            ok = c.get("/api/workflows", headers={**hdr, "Authorization": "Bearer op-secret"})
            assert ok.status_code == 200 and ok.json()["workflows"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "GET /api/health 200" in err and "GET /api/workflows 401" in err


def test_rejects_bad_arguments() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dw_devserver.cli", "start", "--port", "not-a-port"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "--port" in done.stderr
