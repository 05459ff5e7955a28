"""Server configuration: storage location, tokens and roles, clock mode and limits."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

ROLES = ("admin", "operator", "worker")


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Everything that shapes one dev-server instance.

    ``db_path=None`` keeps the database in memory (lost on exit); a path gives a durable SQLite
    file in WAL mode. With no token configured every caller is treated as a full-access admin
    (the real server's ``none`` auth driver).
    """

    db_path: str | None = None
    #: role tokens: bearer token -> role (``admin`` / ``operator`` / ``worker``)
    role_tokens: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: legacy single token: full access when no role token is configured, else plain ``admin``
    auth_token: str | None = None
    virtual_clock: bool = False
    max_payload_bytes: int = 2 * 1024 * 1024
    max_memo_bytes: int = 256 * 1024
    long_poll_timeout: float = 30.0
    #: how long a control-plane query waits for a worker's answer
    query_timeout: float = 30.0
    workflow_task_lease_seconds: float = 300.0
    activity_lease_seconds: float = 300.0
    query_task_lease_seconds: float = 60.0
    #: a worker whose last heartbeat is older than this is ``stale`` (not offered query tasks).
    #: The real server uses 60 s, exactly the 0.4.84 SDK's heartbeat cadence; twice that avoids
    #: flapping.
    worker_stale_after_seconds: float = 120.0
    #: advertised worker protocol; requests may send any ``1.y`` with ``1 <= y <= minor``
    worker_protocol_version: str = "1.8"
    default_namespace: str = "default"
    default_retention_days: int = 30
    #: also delete expired closed runs from the scheduler every this many seconds; None (default)
    #: prunes like the real server: inline on worker heartbeats and via the system retention pass
    retention_sweep_seconds: float | None = None
    server_id: str = "dw-devserver"

    def __post_init__(self) -> None:
        for token, role in self.role_tokens.items():
            if role not in ROLES:
                raise ValueError(f"token role must be one of {ROLES}, got {role!r}")
            if not token:
                raise ValueError("role tokens must be non-empty strings")
        if self.max_payload_bytes < 1024:
            raise ValueError("max_payload_bytes must be at least 1024")
        if self.long_poll_timeout < 0:
            raise ValueError("long_poll_timeout must be >= 0")

    @property
    def auth_enabled(self) -> bool:
        """True when callers must present a bearer token."""
        return bool(self.role_tokens) or bool(self.auth_token)
