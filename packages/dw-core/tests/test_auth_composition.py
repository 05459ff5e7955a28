"""The auth-composition contract: the server's manifest parses, every promise the SDK relies on is
checked and a broken one is named, additive fields are ignored."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dw_core.auth_composition import (
    AUTH_COMPOSITION_CONTRACT_SCHEMA,
    AUTH_COMPOSITION_CONTRACT_VERSION,
    AUTH_COMPOSITION_REQUIRED_EFFECTIVE_CONFIG_FIELDS,
    AuthCompositionContractError,
    parse_auth_composition_contract,
)

REPO = Path(__file__).resolve().parents[3]
DELETE = object()
NOTES = "__notes__"  # set by BaseException.add_note() on 3.11+


def manifest() -> dict[str, Any]:
    """The manifest as the server publishes it (control-plane.md §9.4)."""
    return {
        "schema": "durable-workflow.v2.auth-composition.contract",
        "version": 1,
        "scope": "external_execution_carriers",
        "unknown_field_policy": "ignore_additive_reject_unknown_required",
        "precedence": {
            "connection_values": ["flag", "environment", "selected_profile", "default"],
            "profile_selection": ["flag_env", "DW_ENV", "current_profile", "default_profile"],
            "notes": ["flags beat environment"],
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


def mutate(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    *parents, leaf = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[leaf]
    else:
        target[leaf] = value
    return changed


def test_constants() -> None:
    assert AUTH_COMPOSITION_CONTRACT_SCHEMA == "durable-workflow.v2.auth-composition.contract"
    assert AUTH_COMPOSITION_CONTRACT_VERSION == 1
    assert AUTH_COMPOSITION_REQUIRED_EFFECTIVE_CONFIG_FIELDS == (
        "server_url",
        "namespace",
        "profile",
        "auth",
        "tls",
        "identity",
    )


def test_the_published_manifest_parses() -> None:
    contract = parse_auth_composition_contract(manifest())
    assert contract.schema == AUTH_COMPOSITION_CONTRACT_SCHEMA and contract.version == 1
    assert contract.connection_precedence == ("flag", "environment", "selected_profile", "default")
    assert contract.profile_precedence == ("flag_env", "DW_ENV", "current_profile", "default_profile")
    assert contract.canonical_environment["auth_token"] == "DURABLE_WORKFLOW_AUTH_TOKEN"
    assert contract.effective_config_required_fields[-1] == "identity"
    assert "raw_authorization_headers" in contract.redaction_never_echo
    assert contract.supports_token_auth and contract.reserves_mtls and contract.reserves_signed_headers
    assert contract.auth_material["extensions"]["rule"] == "namespaced keys only"


def test_the_dev_server_advertises_a_manifest_this_sdk_accepts() -> None:
    # Cross-package on purpose: the embedded server's cluster info must satisfy our own parser.
    from dw_devserver.cluster_info import AUTH_COMPOSITION_CONTRACT

    assert parse_auth_composition_contract(AUTH_COMPOSITION_CONTRACT).supports_token_auth


def test_additive_fields_are_ignored() -> None:
    document = manifest()
    document["future"] = {"anything": True}
    document["precedence"]["future_list"] = [1, 2]
    document["canonical_environment"]["region"] = "DURABLE_WORKFLOW_REGION"
    document["auth_material"]["oidc"] = {"status": "reserved"}
    document["effective_config"]["required_fields"].append("region")
    document["redaction"]["never_echo"].append("oidc_refresh_tokens")
    contract = parse_auth_composition_contract(document)
    assert contract.canonical_environment["region"] == "DURABLE_WORKFLOW_REGION"
    assert "region" in contract.effective_config_required_fields


def test_parsed_contract_is_read_only() -> None:
    contract = parse_auth_composition_contract(manifest())
    with pytest.raises(TypeError):
        contract.canonical_environment["profile"] = "OTHER"  # type: ignore[index]


VIOLATIONS = [
    ("schema", DELETE, "schema"),
    ("schema", "durable-workflow.v2.auth-composition", "schema"),
    ("version", 2, "version"),
    ("version", True, "version"),
    ("version", "1", "version"),
    ("precedence", DELETE, "precedence"),
    ("precedence", ["flag"], "precedence"),
    ("precedence.connection_values", DELETE, "precedence.connection_values"),
    ("precedence.connection_values", "flag,environment", "precedence.connection_values"),
    ("precedence.profile_selection", ["DW_ENV", 3], "precedence.profile_selection"),
    ("canonical_environment", DELETE, "canonical_environment"),
    ("canonical_environment.server_url", "DW_SERVER_URL", "canonical_environment.server_url"),
    ("canonical_environment.namespace", DELETE, "canonical_environment.namespace"),
    ("canonical_environment.auth_token", "DURABLE_WORKFLOW_TOKEN", "canonical_environment.auth_token"),
    ("canonical_environment.tls_verify", DELETE, "canonical_environment.tls_verify"),
    ("canonical_environment.profile", "DURABLE_WORKFLOW_PROFILE", "canonical_environment.profile"),
    ("canonical_environment.extra", 5, "canonical_environment.extra"),
    ("auth_material", DELETE, "auth_material"),
    ("auth_material.token", DELETE, "auth_material.token"),
    ("auth_material.token", "supported", "auth_material.token"),
    ("auth_material.token.status", "reserved", "auth_material.token.status"),
    ("auth_material.token.effective_config_value", "plain", "auth_material.token.effective_config_value"),
    ("auth_material.mtls.status", "supported", "auth_material.mtls.status"),
    ("auth_material.mtls", DELETE, "auth_material.mtls"),
    ("auth_material.signed_headers.status", "supported", "auth_material.signed_headers.status"),
    ("effective_config", DELETE, "effective_config"),
    ("effective_config.required_fields", DELETE, "effective_config.required_fields"),
    (
        "effective_config.required_fields",
        ["server_url", "namespace", "profile", "auth", "tls"],
        "effective_config.required_fields",
    ),
    ("redaction", DELETE, "redaction"),
    ("redaction.never_echo", ["bearer_tokens", "private_keys"], "redaction.never_echo"),
    ("redaction.never_echo", None, "redaction.never_echo"),
]


@pytest.mark.parametrize(("path", "value", "field"), VIOLATIONS, ids=lambda v: str(v)[:40])
def test_each_rule_fails_closed_naming_the_field(path: str, value: Any, field: str) -> None:
    with pytest.raises(AuthCompositionContractError) as caught:
        parse_auth_composition_contract(mutate(manifest(), path, value))
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.field == field
    assert field in error.message and str(error) == error.message


def test_missing_required_entries_are_listed() -> None:
    document = mutate(manifest(), "effective_config.required_fields", ["server_url", "auth"])
    with pytest.raises(AuthCompositionContractError) as caught:
        parse_auth_composition_contract(document)
    for missing in ("namespace", "profile", "tls", "identity"):
        assert missing in caught.value.message


def test_non_object_manifest_and_pickling() -> None:
    with pytest.raises(AuthCompositionContractError) as caught:
        parse_auth_composition_contract("manifest")  # type: ignore[arg-type]
    assert caught.value.field is None
    copied = pickle.loads(pickle.dumps(caught.value))
    assert copied == caught.value
    # Python sets these on raise/chaining (and add_note() sets __notes__ on 3.11+)
    caught.value.__cause__ = KeyError("from the worker handshake")
    setattr(caught.value, NOTES, ["from the worker handshake"])
    assert getattr(caught.value, NOTES) == ["from the worker handshake"]


_REFERENCE_SCRIPT = r"""
import json, sys
from durable_workflow.auth_composition import parse_auth_composition_contract
out = []
for document in json.load(sys.stdin):
    try:
        parse_auth_composition_contract(document)
        out.append(True)
    except ValueError:
        out.append(False)
print(json.dumps(out))
"""


@pytest.mark.reference_sdk
def test_published_sdk_accepts_and_rejects_the_same_manifests() -> None:
    # "version": True is left out: 0.4.84 accepts it (True == 1), this SDK does not.
    documents = [manifest()] + [
        mutate(manifest(), path, value) for path, value, _ in VIOLATIONS if value is not True
    ]
    ref = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert ref.returncode == 0, ref.stderr
    result = subprocess.run(
        [ref.stdout.strip().splitlines()[-1], "-c", _REFERENCE_SCRIPT],
        input=json.dumps(documents),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    theirs = json.loads(result.stdout)
    assert theirs == [True] + [False] * (len(documents) - 1)
