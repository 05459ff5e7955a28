"""The ``/api/cluster/info`` document: what a 0.4.84 client and worker check before working."""

from __future__ import annotations

from typing import Any

from dw_devserver import protocol
from dw_devserver.config import ServerConfig

_EXTERNAL = {
    "external_execution_surface": {
        "schema": "durable-workflow.v2.external-execution-surface.contract",
        "version": 1,
        "name": "activity_grade_external_execution",
    },
    "external_executor_config": {
        "schema": "durable-workflow.v2.external-executor-config.contract",
        "version": 1,
        "config_schema": "durable-workflow.external-executor.config",
        "config_schema_version": 1,
    },
    "invocable_carrier": {
        "schema": "durable-workflow.v2.invocable-carrier.contract",
        "version": 1,
        "carrier_type": "invocable_http",
    },
    "external_task_input": {"schema": "durable-workflow.v2.external-task-input.contract", "version": 1},
    "external_task_result": {"schema": "durable-workflow.v2.external-task-result.contract", "version": 1},
}


def server_capabilities(config: ServerConfig) -> dict[str, Any]:
    """``worker_protocol.server_capabilities`` (also echoed on every worker-plane response)."""
    return {
        "long_poll_timeout": int(config.long_poll_timeout) if config.long_poll_timeout >= 1 else 1,
        "supported_workflow_task_commands": list(protocol.SUPPORTED_COMMANDS),
        "workflow_task_poll_request_idempotency": True,
        "history_page_size_default": 500,
        "history_page_size_max": 1000,
        "query_tasks": True,
        "activity_retry_policy": True,
        "activity_timeouts": True,
        "child_workflow_retry_policy": True,
        "child_workflow_timeouts": True,
        "parent_close_policy": True,
        "non_retryable_failures": True,
        # the 0.4.84 SDK cannot decode compressed history, so none is offered
        "response_compression": [],
        "history_compression": {"supported_encodings": [], "compression_threshold": 50},
        **_EXTERNAL,
    }


AUTH_COMPOSITION_CONTRACT: dict[str, Any] = {
    "schema": "durable-workflow.v2.auth-composition.contract",
    "version": 1,
    "scope": "external_execution_carriers",
    "unknown_field_policy": "ignore_additive_reject_unknown_required",
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
        "token": {
            "status": "supported",
            "transport": "bearer_authorization_header",
            "persisted_as": "environment_or_profile_reference",
            "effective_config_value": "redacted",
        },
        "mtls": {"status": "reserved"},
        "signed_headers": {"status": "reserved"},
        "extensions": {"status": "reserved", "rule": "namespaced keys only"},
    },
    "effective_config": {
        "required_fields": ["server_url", "namespace", "profile", "auth", "tls", "identity"],
        "source_values": ["flag", "environment", "selected_profile", "default"],
        "field_contracts": {},
    },
    "redaction": {
        "never_echo": [
            "bearer_tokens",
            "private_keys",
            "shared_signature_keys",
            "client_certificate_private_key_material",
            "raw_authorization_headers",
        ],
        "allowed_diagnostics": [],
    },
    "resolution": {},
}


def request_contract() -> dict[str, Any]:
    """``control_plane.request_contract``."""
    return {
        "schema": "durable-workflow.v2.control-plane-request.contract",
        "version": 1,
        "operations": {
            "list": {
                "fields": {
                    "status": {
                        "canonical_values": ["running", "completed", "failed"],
                        "rejected_aliases": {
                            "cancelled": "failed",
                            "terminated": "failed",
                            "pending": "running",
                            "waiting": "running",
                        },
                    }
                }
            },
            "start": {
                "fields": {
                    "duplicate_policy": {
                        "canonical_values": ["fail", "use-existing"],
                        "rejected_aliases": {"use_existing": "use-existing"},
                    },
                    "execution_timeout_seconds": {"type": "integer", "min": 1},
                    "run_timeout_seconds": {"type": "integer", "min": 1},
                    "payload_codec": {
                        "type": "string",
                        "canonical_values": list(protocol.PAYLOAD_CODECS),
                        "engine_specific_values": {},
                        "description": "Codec of stored payloads; avro is the only universal codec.",
                    },
                },
                "unsupported_fields": [
                    "workflow_execution_timeout",
                    "workflow_run_timeout",
                    "workflow_task_timeout",
                    "retry_policy",
                    "idempotency_key",
                    "request_id",
                ],
            },
            "update": {
                "fields": {"wait_for": {"canonical_values": ["accepted", "completed"]}},
                "removed_fields": {"wait_policy": "Use wait_for."},
            },
        },
    }


def cluster_info(
    config: ServerConfig, capabilities: dict[str, Any], worker_fleet: dict[str, Any]
) -> dict[str, Any]:
    """The whole cluster-info document (control-plane.md §9)."""
    worker_protocol = {
        "version": config.worker_protocol_version,
        "server_capabilities": capabilities,
        **{f"{name}_contract": dict(desc) for name, desc in _EXTERNAL.items()},
    }
    features = [
        "workflow_tasks",
        "activity_tasks",
        "signals",
        "queries",
        "updates",
        "schedules",
        "schedule_jitter",
        "schedule_max_runs",
        "search_attributes",
        "history_export",
        "continue_as_new",
        "child_workflows",
        "activity_timeouts",
        "activity_retry_policy",
        "child_workflow_retry_policy",
        "child_workflow_timeouts",
        "parent_close_policy",
        "non_retryable_failures",
        "history_retention",
        "payload_codec_envelope",
        "payload_codec_envelope_responses",
        "bridge_adapter_outcome_contract",
        "external_executor_config_contract",
        "invocable_carrier_contract",
    ]
    return {
        "server_id": config.server_id,
        "version": protocol.SERVER_VERSION,
        "default_namespace": config.default_namespace,
        "supported_sdk_versions": {"php": ">=1.0", "python": ">=0.2,<1.0", "cli": ">=0.1,<1.0"},
        "capabilities": {
            **dict.fromkeys(features, True),
            "payload_codecs": list(protocol.PAYLOAD_CODECS),
            "response_compression": [],
        },
        "worker_fleet": worker_fleet,
        "limits": {
            "max_payload_bytes": config.max_payload_bytes,
            "max_memo_bytes": config.max_memo_bytes,
            "max_search_attributes": 100,
            "max_search_attribute_key_length": 128,
            "max_search_attribute_value_bytes": 2048,
            "max_operation_name_length": 256,
            "max_pending_activities": 2000,
            "max_pending_children": 2000,
        },
        "structural_limits": {"max_pending_activities": 2000, "max_pending_children": 2000},
        "client_compatibility": {
            "schema": "durable-workflow.v2.client-compatibility",
            "version": 1,
            "authority": "protocol_manifests",
            "top_level_version_role": "informational",
            "fail_closed": True,
            "required_protocols": {
                "auth_composition": {"schema": AUTH_COMPOSITION_CONTRACT["schema"], "version": 1},
                "control_plane": {
                    "version": protocol.CONTROL_PLANE_VERSION,
                    "header": protocol.CONTROL_PLANE_HEADER,
                    "request_contract": {
                        "schema": "durable-workflow.v2.control-plane-request.contract",
                        "version": 1,
                    },
                },
                "worker_protocol": {
                    "version": config.worker_protocol_version,
                    "header": protocol.WORKER_PROTOCOL_HEADER,
                },
            },
            "clients": {"sdk-python": {"supported_versions": ">=0.2,<1.0", "requires": []}},
        },
        "auth_composition_contract": AUTH_COMPOSITION_CONTRACT,
        "control_plane": {
            "version": protocol.CONTROL_PLANE_VERSION,
            "header": protocol.CONTROL_PLANE_HEADER,
            "response_contract": {
                "schema": "durable-workflow.v2.control-plane-response",
                "version": 1,
                "contract": protocol.response_contract("list"),
                "projected_fields": list(protocol.PROJECTED_FIELDS),
            },
            "request_contract": request_contract(),
        },
        "worker_protocol": worker_protocol,
    }
