"""The examples users copy must run as documented: one command each, expected output, exit code 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT = 180


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def test_quickstart_prints_the_greeting() -> None:
    done = run(str(EXAMPLES / "quickstart.py"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "Hello, Ada!"


def test_order_processing_retries_the_payment_and_ships_after_the_signal() -> None:
    done = run(str(EXAMPLES / "order_processing.py"))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "status: waiting for address (payment done)" in out
    assert "order A-1001: shipped" in out
    assert "succeeded on attempt 2" in out
    assert "TRACK-A-1001-LISBON" in out


def test_the_example_test_suite_passes_with_the_pytest_plugin() -> None:
    # Runs in a subprocess so the dw-testing fixtures come from its pytest11 entry point alone.
    done = run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / "test_order_processing.py"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
