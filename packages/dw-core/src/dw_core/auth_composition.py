"""The auth-composition contract: how carriers and clients resolve connection settings and secrets.

The server advertises ``auth_composition_contract`` in ``/api/cluster/info``: the precedence of
connection values and profile selection, the canonical environment variable names, which auth
material is supported (bearer tokens, always redacted) or reserved (mTLS, signed headers), the
fields an effective configuration must report, and the secrets that must never be echoed.
:func:`parse_auth_composition_contract` checks that the manifest promises what this SDK relies on
and raises :class:`AuthCompositionContractError` naming the field otherwise. Additive fields are
ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from dw_core._contract_fields import ContractFieldError, ContractFields, json_type_name
from dw_core.protocol import AUTH_COMPOSITION_CONTRACT_SCHEMA as _SCHEMA
from dw_core.protocol import AUTH_COMPOSITION_CONTRACT_VERSION as _VERSION

__all__ = [
    "AUTH_COMPOSITION_CANONICAL_ENVIRONMENT",
    "AUTH_COMPOSITION_CONTRACT_SCHEMA",
    "AUTH_COMPOSITION_CONTRACT_VERSION",
    "AUTH_COMPOSITION_REQUIRED_EFFECTIVE_CONFIG_FIELDS",
    "AUTH_COMPOSITION_REQUIRED_NEVER_ECHO",
    "AuthCompositionContract",
    "AuthCompositionContractError",
    "parse_auth_composition_contract",
]

AUTH_COMPOSITION_CONTRACT_SCHEMA: Final = _SCHEMA
AUTH_COMPOSITION_CONTRACT_VERSION: Final = _VERSION
AUTH_COMPOSITION_REQUIRED_EFFECTIVE_CONFIG_FIELDS: Final = (
    "server_url",
    "namespace",
    "profile",
    "auth",
    "tls",
    "identity",
)
#: Setting name -> environment variable every runtime must read it from.
AUTH_COMPOSITION_CANONICAL_ENVIRONMENT: Final[Mapping[str, str]] = MappingProxyType(
    {
        "server_url": "DURABLE_WORKFLOW_SERVER_URL",
        "namespace": "DURABLE_WORKFLOW_NAMESPACE",
        "auth_token": "DURABLE_WORKFLOW_AUTH_TOKEN",
        "tls_verify": "DURABLE_WORKFLOW_TLS_VERIFY",
        "profile": "DW_ENV",
    }
)
#: Secret classes the contract must promise never to echo.
AUTH_COMPOSITION_REQUIRED_NEVER_ECHO: Final = ("bearer_tokens", "private_keys", "raw_authorization_headers")


class AuthCompositionContractError(ContractFieldError):
    """The server's auth-composition manifest does not promise what this SDK relies on.

    ``message`` says what is wrong (usually: upgrade or fix the server); ``field`` is the dotted path
    of the offending field (``None`` when the whole document is at fault).
    """


@dataclass(frozen=True)
class AuthCompositionContract:
    """A validated auth-composition manifest (the parts this SDK reads)."""

    schema: str
    version: int
    connection_precedence: tuple[str, ...]
    profile_precedence: tuple[str, ...]
    canonical_environment: Mapping[str, str]
    auth_material: Mapping[str, Mapping[str, Any]]
    effective_config_required_fields: tuple[str, ...]
    redaction_never_echo: tuple[str, ...]

    def _material_status(self, name: str) -> Any:
        material = self.auth_material.get(name)
        return material.get("status") if isinstance(material, Mapping) else None

    @property
    def supports_token_auth(self) -> bool:
        """Bearer-token auth is supported."""
        return bool(self._material_status("token") == "supported")

    @property
    def reserves_mtls(self) -> bool:
        """mTLS is reserved for a future version (not usable yet)."""
        return bool(self._material_status("mtls") == "reserved")

    @property
    def reserves_signed_headers(self) -> bool:
        """Signed request headers are reserved for a future version (not usable yet)."""
        return bool(self._material_status("signed_headers") == "reserved")


_fields = ContractFields(AuthCompositionContractError, "auth composition contract")


def _require_superset(values: tuple[str, ...], required: tuple[str, ...], path: str) -> None:
    missing = [name for name in required if name not in values]
    if missing:
        _fields.fail(
            path,
            f"field '{path}' lacks {', '.join(missing)}; the server must promise all of "
            f"{', '.join(required)}",
        )


def _parse_canonical_environment(manifest: Mapping[str, Any]) -> Mapping[str, str]:
    environment = _fields.json_object(manifest, "", "canonical_environment")
    parsed: dict[str, str] = {}
    for name, env_var in environment.items():
        path = f"canonical_environment.{name}"
        if not isinstance(name, str) or not isinstance(env_var, str):
            _fields.fail(
                path, f"field '{path}' must map a setting name to an environment variable name (string)"
            )
        parsed[name] = env_var
    for name, expected in AUTH_COMPOSITION_CANONICAL_ENVIRONMENT.items():
        actual = parsed.get(name)
        if actual != expected:
            path = f"canonical_environment.{name}"
            found = "missing" if actual is None else repr(actual)
            _fields.fail(path, f"field '{path}' must be {expected!r}, got {found}")
    return MappingProxyType(parsed)


def _parse_auth_material(manifest: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    material = _fields.json_object(manifest, "", "auth_material")
    parsed: dict[str, Mapping[str, Any]] = {}
    for name, entry in material.items():
        path = f"auth_material.{name}"
        if not isinstance(name, str) or not isinstance(entry, Mapping):
            _fields.fail(path, f"field '{path}' must be an object, got {json_type_name(entry)}")
        parsed[name] = entry
    expectations = (
        ("token", "status", "supported"),
        ("token", "effective_config_value", "redacted"),
        ("mtls", "status", "reserved"),
        ("signed_headers", "status", "reserved"),
    )
    for name, key, expected in expectations:
        path = f"auth_material.{name}.{key}"
        entry = parsed.get(name)
        if entry is None:
            _fields.fail(f"auth_material.{name}", f"required field 'auth_material.{name}' is missing")
        if entry.get(key) != expected:
            _fields.fail(path, f"field '{path}' must be {expected!r}, got {entry.get(key)!r}")
    return MappingProxyType(parsed)


def parse_auth_composition_contract(manifest: Mapping[str, Any]) -> AuthCompositionContract:
    """Validate the server's v1 auth-composition manifest; :class:`AuthCompositionContractError` otherwise.

    Requires the pinned schema and version, the two precedence lists, the five canonical
    environment names, token auth supported and redacted, mTLS and signed headers reserved, the
    six effective-config fields and the three never-echo secret classes. Extra fields are ignored.
    """
    manifest = _fields.document(manifest, "manifest")
    schema = manifest.get("schema")
    if schema != AUTH_COMPOSITION_CONTRACT_SCHEMA:
        found = "missing" if "schema" not in manifest else repr(schema)
        _fields.fail("schema", f"field 'schema' must be {AUTH_COMPOSITION_CONTRACT_SCHEMA!r}, got {found}")
    version = manifest.get("version")
    if (
        isinstance(version, bool)
        or not isinstance(version, int)
        or version != AUTH_COMPOSITION_CONTRACT_VERSION
    ):
        found = "missing" if "version" not in manifest else repr(version)
        _fields.fail(
            "version",
            f"field 'version' must be {AUTH_COMPOSITION_CONTRACT_VERSION}, got {found}; this SDK reads "
            "auth composition v1",
        )
    precedence = _fields.json_object(manifest, "", "precedence")
    connection_precedence = _fields.string_list(precedence, "precedence", "connection_values")
    profile_precedence = _fields.string_list(precedence, "precedence", "profile_selection")
    canonical_environment = _parse_canonical_environment(manifest)
    auth_material = _parse_auth_material(manifest)
    effective_config = _fields.json_object(manifest, "", "effective_config")
    required_fields = _fields.string_list(effective_config, "effective_config", "required_fields")
    _require_superset(
        required_fields, AUTH_COMPOSITION_REQUIRED_EFFECTIVE_CONFIG_FIELDS, "effective_config.required_fields"
    )
    redaction = _fields.json_object(manifest, "", "redaction")
    never_echo = _fields.string_list(redaction, "redaction", "never_echo")
    _require_superset(never_echo, AUTH_COMPOSITION_REQUIRED_NEVER_ECHO, "redaction.never_echo")
    return AuthCompositionContract(
        schema=AUTH_COMPOSITION_CONTRACT_SCHEMA,
        version=AUTH_COMPOSITION_CONTRACT_VERSION,
        connection_precedence=connection_precedence,
        profile_precedence=profile_precedence,
        canonical_environment=canonical_environment,
        auth_material=auth_material,
        effective_config_required_fields=required_fields,
        redaction_never_echo=never_echo,
    )
