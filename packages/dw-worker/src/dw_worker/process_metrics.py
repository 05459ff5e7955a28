"""Process facts the worker reports at registration and on every heartbeat (worker-plane.md §3.2)."""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime, timezone
from typing import Any


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None  # not Linux: the field is optional
    return pages * os.sysconf("SC_PAGE_SIZE")


class ProcessMetricsSampler:
    """Samples uptime, pid, RSS and the CPU share used since the previous sample."""

    def __init__(self) -> None:
        self._started_monotonic = time.monotonic()
        self._started_at = datetime.now(timezone.utc)
        self._last_wall = self._started_monotonic
        self._last_cpu = time.process_time()

    def sample(self) -> dict[str, Any]:
        now = time.monotonic()
        cpu = time.process_time()
        wall_delta = now - self._last_wall
        cpu_percent = (
            0.0 if wall_delta <= 0 else min(100.0, max(0.0, 100.0 * (cpu - self._last_cpu) / wall_delta))
        )
        self._last_wall, self._last_cpu = now, cpu
        metrics: dict[str, Any] = {
            "process_uptime_seconds": int(now - self._started_monotonic),
            "process_id": os.getpid(),
            "process_started_at": self._started_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "cpu_percent": round(cpu_percent, 2),
            "host": socket.gethostname()[:255],
        }
        rss = _rss_bytes()
        if rss is not None:
            metrics["memory_bytes"] = rss
        return metrics
