"""Run a storage emulator (moto, gcp-storage-emulator, Azurite, ...) as a subprocess for tests.

:func:`serve_emulator` starts the command on a free 127.0.0.1 port, waits until an HTTP probe
answers, yields the port and stops the process on exit. A port taken between choosing and binding
makes the emulator exit; then another port is tried, so parallel test runs do not collide.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Final

import httpx

__all__ = ["EmulatorStartError", "free_port", "serve_emulator"]

DEFAULT_START_TIMEOUT_S: Final = 90.0
DEFAULT_START_ATTEMPTS: Final = 3
_STOP_TIMEOUT_S: Final = 15.0
_PROBE_INTERVAL_S: Final = 0.1


class EmulatorStartError(RuntimeError):
    """The emulator did not come up: it exited on every attempt or never answered its probe."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code < 500
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def serve_emulator(
    name: str,
    command_for: Callable[[int], list[str]],
    probe: Callable[[int], str],
    *,
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    attempts: int = DEFAULT_START_ATTEMPTS,
) -> Iterator[int]:
    """Run ``command_for(port)`` until GET ``probe(port)`` answers below 500; yield the port; stop it.

    Raises :class:`EmulatorStartError` with the emulator's last output when it never starts.
    """
    failures: list[str] = []
    for _ in range(attempts):
        port = free_port()
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(command_for(port), stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + start_timeout_s
                while proc.poll() is None and not _answers(probe(port)):
                    if time.monotonic() > deadline:
                        raise EmulatorStartError(
                            f"{name} did not answer on port {port} within {start_timeout_s} s"
                        )
                    time.sleep(_PROBE_INTERVAL_S)
                if proc.poll() is not None:
                    log.seek(0)
                    failures.append(f"exit {proc.returncode}: {log.read().decode(errors='replace')[-2000:]}")
                    continue
                yield port
                return
            finally:
                _stop(proc)
    raise EmulatorStartError(f"{name} did not start: {failures}")
