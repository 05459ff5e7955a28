"""The fail-closed startup handshake: is this server one our worker can talk to?

The worker reads ``GET /api/cluster/info`` before it registers and refuses to start when a protocol
manifest it relies on is missing or incompatible (worker-plane.md §2, control-plane.md §9.6). The
checks are a pure function over the decoded document so they can be tested without a server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dw_core import protocol

CONTROL_PLANE_VERSION: Final = protocol.CONTROL_PLANE_VERSION
CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA: Final = protocol.CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA
CONTROL_PLANE_REQUEST_CONTRACT_VERSION: Final = protocol.CONTROL_PLANE_REQUEST_CONTRACT_VERSION
WORKER_PROTOCOL_VERSION: Final = protocol.WORKER_PROTOCOL_VERSION
AUTH_COMPOSITION_CONTRACT_SCHEMA: Final = protocol.AUTH_COMPOSITION_CONTRACT_SCHEMA
AUTH_COMPOSITION_CONTRACT_VERSION: Final = protocol.AUTH_COMPOSITION_CONTRACT_VERSION
QUERY_TASKS_CAPABILITY: Final = protocol.WORKER_CAPABILITY_QUERY_TASKS

_CANONICAL_ENVIRONMENT: Final[Mapping[str, str]] = {
    "server_url": "DURABLE_WORKFLOW_SERVER_URL",
    "namespace": "DURABLE_WORKFLOW_NAMESPACE",
    "auth_token": "DURABLE_WORKFLOW_AUTH_TOKEN",
    "tls_verify": "DURABLE_WORKFLOW_TLS_VERIFY",
    "profile": "DW_ENV",
}
_REQUIRED_EFFECTIVE_CONFIG_FIELDS: Final = ("server_url", "namespace", "profile", "auth", "tls", "identity")
_REQUIRED_NEVER_ECHO: Final = ("bearer_tokens", "private_keys", "raw_authorization_headers")


class ServerCompatibilityError(RuntimeError):
    """The server's cluster info says it cannot serve this worker; nothing was registered.

    ``field`` is the dotted path in ``/api/cluster/info`` that failed the check (``None`` when the
    document itself could not be read).
    """

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"Server compatibility error: {detail}")
        self.field = field


@dataclass(frozen=True)
class ServerCompatibility:
    """What the worker derives from a compatible cluster-info document."""

    worker_protocol_version: str
    query_tasks: bool
    long_poll_timeout: float | None
    server_version: str | None

    def poll_http_timeout(self, poll_timeout: float) -> float:
        """HTTP timeout for one long-poll: the worker's own, widened to the server's long poll + 5 s."""
        if self.long_poll_timeout is None:
            return poll_timeout
        return max(poll_timeout, self.long_poll_timeout + 5.0)


def _fail(field: str, detail: str) -> ServerCompatibilityError:
    return ServerCompatibilityError(f"{detail} (cluster info field `{field}`)", field=field)


def _is_version_one(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == 1
    return isinstance(value, str) and value.isdigit() and int(value) == 1


def _worker_protocol_compatible(version: str) -> bool:
    ours = WORKER_PROTOCOL_VERSION.split(".")
    theirs = version.split(".")
    if len(theirs) != 2 or not all(part.isdigit() for part in theirs):
        return version == WORKER_PROTOCOL_VERSION
    return int(theirs[0]) == int(ours[0]) and int(theirs[1]) >= int(ours[1])


def _check_control_plane(info: Mapping[str, Any]) -> None:
    control_plane = info.get("control_plane")
    if not isinstance(control_plane, Mapping):
        raise _fail("control_plane", "missing control_plane manifest; upgrade the server to control plane v2")
    version = control_plane.get("version")
    if (
        isinstance(version, bool)
        or not isinstance(version, (str, int))
        or str(version) != CONTROL_PLANE_VERSION
    ):
        raise _fail(
            "control_plane.version",
            f"unsupported control_plane.version {version!r}; this SDK needs control plane "
            f"{CONTROL_PLANE_VERSION!r}",
        )
    contract = control_plane.get("request_contract")
    if not isinstance(contract, Mapping):
        raise _fail("control_plane.request_contract", "missing control_plane.request_contract")
    if contract.get("schema") != CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA:
        raise _fail(
            "control_plane.request_contract.schema",
            f"unsupported control_plane.request_contract schema {contract.get('schema')!r}; expected "
            f"{CONTROL_PLANE_REQUEST_CONTRACT_SCHEMA!r}",
        )
    if not _is_version_one(contract.get("version")):
        raise _fail(
            "control_plane.request_contract.version",
            f"unsupported control_plane.request_contract version {contract.get('version')!r}; expected "
            f"{CONTROL_PLANE_REQUEST_CONTRACT_VERSION}",
        )


def _check_worker_protocol(info: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    worker_protocol = info.get("worker_protocol")
    if not isinstance(worker_protocol, Mapping):
        raise _fail("worker_protocol", "missing worker_protocol manifest")
    raw = worker_protocol.get("version")
    version = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not version or not _worker_protocol_compatible(version):
        raise _fail(
            "worker_protocol.version",
            f"incompatible worker_protocol.version {raw!r}; this SDK speaks {WORKER_PROTOCOL_VERSION!r} "
            f"and needs major '1' with minor>='1.1'; upgrade the server",
        )
    capabilities = worker_protocol.get("server_capabilities")
    return version, capabilities if isinstance(capabilities, Mapping) else {}


def _string_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _check_auth_composition(info: Mapping[str, Any]) -> None:
    base = "auth_composition_contract"
    contract = info.get(base)
    if not isinstance(contract, Mapping):
        raise _fail(base, "missing auth_composition_contract")

    def unsupported(field: str, why: str) -> ServerCompatibilityError:
        return _fail(f"{base}.{field}", f"unsupported auth_composition_contract: {why}")

    if contract.get("schema") != AUTH_COMPOSITION_CONTRACT_SCHEMA:
        raise unsupported("schema", f"schema must be {AUTH_COMPOSITION_CONTRACT_SCHEMA!r}")
    version = contract.get("version")
    if isinstance(version, bool) or version != AUTH_COMPOSITION_CONTRACT_VERSION:
        raise unsupported("version", f"version must be {AUTH_COMPOSITION_CONTRACT_VERSION}, got {version!r}")
    precedence = contract.get("precedence")
    if not isinstance(precedence, Mapping):
        raise unsupported("precedence", "precedence must be an object")
    for key in ("connection_values", "profile_selection"):
        if _string_list(precedence.get(key)) is None:
            raise unsupported(f"precedence.{key}", f"precedence.{key} must be a list of strings")
    environment = contract.get("canonical_environment")
    if not isinstance(environment, Mapping) or not all(isinstance(v, str) for v in environment.values()):
        raise unsupported("canonical_environment", "canonical_environment must map names to strings")
    for name, env_var in _CANONICAL_ENVIRONMENT.items():
        if environment.get(name) != env_var:
            raise unsupported(
                f"canonical_environment.{name}", f"canonical_environment.{name} must be {env_var!r}"
            )
    material = contract.get("auth_material")
    if not isinstance(material, Mapping) or not all(isinstance(v, Mapping) for v in material.values()):
        raise unsupported("auth_material", "auth_material must be an object of objects")
    expected_material = (
        ("token", "status", "supported"),
        ("token", "effective_config_value", "redacted"),
        ("mtls", "status", "reserved"),
        ("signed_headers", "status", "reserved"),
    )
    for kind, key, expected in expected_material:
        entry = material.get(kind)
        if not isinstance(entry, Mapping) or entry.get(key) != expected:
            raise unsupported(
                f"auth_material.{kind}.{key}", f"auth_material.{kind}.{key} must be {expected!r}"
            )
    effective = contract.get("effective_config")
    fields = _string_list(effective.get("required_fields")) if isinstance(effective, Mapping) else None
    missing_fields = [f for f in _REQUIRED_EFFECTIVE_CONFIG_FIELDS if fields is None or f not in fields]
    if missing_fields:
        raise unsupported(
            "effective_config.required_fields",
            f"effective_config.required_fields lacks {', '.join(missing_fields)}",
        )
    redaction = contract.get("redaction")
    never_echo = _string_list(redaction.get("never_echo")) if isinstance(redaction, Mapping) else None
    missing_echo = [f for f in _REQUIRED_NEVER_ECHO if never_echo is None or f not in never_echo]
    if missing_echo:
        raise unsupported("redaction.never_echo", f"redaction.never_echo lacks {', '.join(missing_echo)}")


def _long_poll_timeout(capabilities: Mapping[str, Any]) -> float | None:
    raw = capabilities.get("long_poll_timeout")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return value if value > 0 else None


def check_cluster_info(info: Any) -> ServerCompatibility:
    """Validate a ``/api/cluster/info`` document; raise :class:`ServerCompatibilityError` naming the field.

    The checks run in the order 0.4.84 runs them: control plane, worker protocol, auth composition.
    The top-level server ``version`` is informational and never gated on.
    """
    if not isinstance(info, Mapping):
        raise ServerCompatibilityError(
            f"unable to read /api/cluster/info: expected a JSON object, got {type(info).__name__}"
        )
    _check_control_plane(info)
    version, capabilities = _check_worker_protocol(info)
    _check_auth_composition(info)
    server_version = info.get("version")
    return ServerCompatibility(
        worker_protocol_version=version,
        query_tasks=capabilities.get(QUERY_TASKS_CAPABILITY) is True,
        long_poll_timeout=_long_poll_timeout(capabilities),
        server_version=server_version if isinstance(server_version, str) else None,
    )
