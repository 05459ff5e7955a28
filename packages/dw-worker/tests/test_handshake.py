"""The fail-closed cluster-info checks, against the documents of control-plane.md §9.4/§9.7."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from dw_worker.handshake import ServerCompatibilityError, check_cluster_info


def compatible_info() -> dict[str, Any]:
    """The minimal document a dev server must return (control-plane.md §9.7), with §9.4 values."""
    return {
        "version": "2.0.0",
        "control_plane": {
            "version": "2",
            "header": "X-Durable-Workflow-Control-Plane-Version",
            "request_contract": {
                "schema": "durable-workflow.v2.control-plane-request.contract",
                "version": 1,
                "operations": {},
            },
        },
        "worker_protocol": {
            "version": "1.1",
            "server_capabilities": {"query_tasks": True, "long_poll_timeout": 30},
        },
        "auth_composition_contract": {
            "schema": "durable-workflow.v2.auth-composition.contract",
            "version": 1,
            "scope": "external_execution_carriers",
            "precedence": {
                "connection_values": ["flag", "environment", "selected_profile", "default"],
                "profile_selection": ["flag_env", "DW_ENV", "current_profile", "default_profile"],
                "notes": [],
            },
            "canonical_environment": {
                "server_url": "DURABLE_WORKFLOW_SERVER_URL",
                "namespace": "DURABLE_WORKFLOW_NAMESPACE",
                "auth_token": "DURABLE_WORKFLOW_AUTH_TOKEN",
                "tls_verify": "DURABLE_WORKFLOW_TLS_VERIFY",
                "profile": "DW_ENV",
            },
            "auth_material": {
                "token": {"status": "supported", "effective_config_value": "redacted"},
                "mtls": {"status": "reserved"},
                "signed_headers": {"status": "reserved"},
                "extensions": {"status": "reserved"},
            },
            "effective_config": {
                "required_fields": ["server_url", "namespace", "profile", "auth", "tls", "identity"]
            },
            "redaction": {
                "never_echo": [
                    "bearer_tokens",
                    "private_keys",
                    "shared_signature_keys",
                    "client_certificate_private_key_material",
                    "raw_authorization_headers",
                ]
            },
        },
    }


def test_compatible_document_is_accepted_and_capabilities_derived() -> None:
    result = check_cluster_info(compatible_info())
    assert result.query_tasks is True
    assert result.worker_protocol_version == "1.1"
    assert result.long_poll_timeout == 30.0
    assert result.poll_http_timeout(35.0) == 35.0
    assert result.poll_http_timeout(10.0) == 35.0


@pytest.mark.parametrize("version", ["1.1", "1.2", "1.7", "1.15"])
def test_newer_worker_protocol_minors_are_accepted(version: str) -> None:
    info = compatible_info()
    info["worker_protocol"]["version"] = version
    assert check_cluster_info(info).worker_protocol_version == version


def test_control_plane_version_as_int_and_contract_version_as_digit_string_are_accepted() -> None:
    info = compatible_info()
    info["control_plane"]["version"] = 2
    info["control_plane"]["request_contract"]["version"] = "1"
    check_cluster_info(info)


def test_long_poll_timeout_widens_http_timeout_and_ignores_junk() -> None:
    info = compatible_info()
    info["worker_protocol"]["server_capabilities"]["long_poll_timeout"] = "50"
    assert check_cluster_info(info).poll_http_timeout(35.0) == 55.0
    info["worker_protocol"]["server_capabilities"]["long_poll_timeout"] = True
    assert check_cluster_info(info).long_poll_timeout is None
    info["worker_protocol"]["server_capabilities"]["long_poll_timeout"] = 0
    assert check_cluster_info(info).long_poll_timeout is None


def test_query_tasks_needs_literal_true() -> None:
    info = compatible_info()
    info["worker_protocol"]["server_capabilities"]["query_tasks"] = "yes"
    assert check_cluster_info(info).query_tasks is False
    del info["worker_protocol"]["server_capabilities"]
    assert check_cluster_info(info).query_tasks is False


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field", "fragment"),
    [
        ("control_plane", _DELETE, "control_plane", "missing control_plane manifest"),
        ("control_plane", "2", "control_plane", "missing control_plane manifest"),
        ("control_plane.version", "3", "control_plane.version", "unsupported control_plane.version"),
        ("control_plane.version", True, "control_plane.version", "unsupported control_plane.version"),
        (
            "control_plane.request_contract",
            _DELETE,
            "control_plane.request_contract",
            "missing control_plane.request_contract",
        ),
        ("control_plane.request_contract.schema", "x", "control_plane.request_contract.schema", "schema"),
        ("control_plane.request_contract.version", 2, "control_plane.request_contract.version", "version"),
        ("worker_protocol", _DELETE, "worker_protocol", "missing worker_protocol"),
        ("worker_protocol.version", "1.0", "worker_protocol.version", "minor>='1.1'"),
        ("worker_protocol.version", "2.0", "worker_protocol.version", "incompatible worker_protocol.version"),
        ("worker_protocol.version", "v1", "worker_protocol.version", "incompatible worker_protocol.version"),
        ("worker_protocol.version", None, "worker_protocol.version", "incompatible worker_protocol.version"),
        (
            "auth_composition_contract",
            _DELETE,
            "auth_composition_contract",
            "missing auth_composition_contract",
        ),
        (
            "auth_composition_contract.schema",
            "x",
            "auth_composition_contract.schema",
            "unsupported auth_composition_contract",
        ),
        ("auth_composition_contract.version", "1", "auth_composition_contract.version", "version must be 1"),
        (
            "auth_composition_contract.precedence.profile_selection",
            "DW_ENV",
            "auth_composition_contract.precedence.profile_selection",
            "list of strings",
        ),
        (
            "auth_composition_contract.canonical_environment.profile",
            "PROFILE",
            "auth_composition_contract.canonical_environment.profile",
            "'DW_ENV'",
        ),
        (
            "auth_composition_contract.auth_material.token.effective_config_value",
            "plain",
            "auth_composition_contract.auth_material.token.effective_config_value",
            "'redacted'",
        ),
        (
            "auth_composition_contract.auth_material.mtls.status",
            "supported",
            "auth_composition_contract.auth_material.mtls.status",
            "'reserved'",
        ),
        (
            "auth_composition_contract.effective_config.required_fields",
            ["server_url"],
            "auth_composition_contract.effective_config.required_fields",
            "namespace, profile, auth, tls, identity",
        ),
        (
            "auth_composition_contract.redaction.never_echo",
            ["bearer_tokens"],
            "auth_composition_contract.redaction.never_echo",
            "private_keys, raw_authorization_headers",
        ),
    ],
)
def test_each_failed_check_names_its_field(path: str, value: Any, field: str, fragment: str) -> None:
    info = copy.deepcopy(compatible_info())
    _set(info, path, value)
    with pytest.raises(ServerCompatibilityError) as raised:
        check_cluster_info(info)
    assert raised.value.field == field
    message = str(raised.value)
    assert message.startswith("Server compatibility error: ")
    assert fragment in message
    assert f"`{field}`" in message
    assert isinstance(raised.value, RuntimeError)  # 0.4.84 callers catch RuntimeError


def test_checks_run_in_reference_order() -> None:
    info = compatible_info()
    info["worker_protocol"]["version"] = "0.9"
    del info["auth_composition_contract"]
    with pytest.raises(ServerCompatibilityError) as raised:
        check_cluster_info(info)
    assert raised.value.field == "worker_protocol.version"


def test_non_object_document_is_refused() -> None:
    with pytest.raises(ServerCompatibilityError, match="unable to read /api/cluster/info"):
        check_cluster_info(["not", "an", "object"])
