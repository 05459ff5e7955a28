"""Offline integrity verification of history-export bundles (``durable-workflow.v2.history-export``).

A bundle is what ``Client.export_history`` returns: one run's history, commands, payload manifest
and an ``integrity`` block (SHA-256 checksum, optional HMAC-SHA256 signature) over a canonical
form of everything else. :func:`verify_bundle` checks the structure and recomputes both digests
without running any workflow code; it never raises for bad input, every problem becomes a finding
in a ``durable-workflow.v2.history-bundle-verification`` report.

Canonical form: the bundle without ``integrity``, object keys sorted at every depth, compact JSON
separators, non-ASCII characters kept as they are (``json-recursive-ksort-v1``).

CLI: ``durable-workflow-history-bundle-verify BUNDLE.json [--signing-key KEY] [--output PATH]
[--strict-warnings]`` exits 1 when the report is ``failed`` (or ``warning`` under
``--strict-warnings``).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLE_SCHEMA",
    "BUNDLE_SCHEMA_VERSION",
    "CANONICALIZATION",
    "CHECKSUM_ALGORITHM",
    "REPORT_SCHEMA",
    "REPORT_SCHEMA_VERSION",
    "SEVERITY_ERROR",
    "SEVERITY_INFO",
    "SEVERITY_WARNING",
    "SIGNATURE_ALGORITHM",
    "STATUS_FAILED",
    "STATUS_OK",
    "STATUS_WARNING",
    "canonical_bundle_json",
    "main",
    "seal_bundle",
    "verify_bundle",
    "verify_bundle_json",
]

REPORT_SCHEMA = "durable-workflow.v2.history-bundle-verification"
REPORT_SCHEMA_VERSION = 1
BUNDLE_SCHEMA = "durable-workflow.v2.history-export"
BUNDLE_SCHEMA_VERSION = 1

STATUS_OK = "ok"
STATUS_WARNING = "warning"
STATUS_FAILED = "failed"

SEVERITY_INFO = "info"
SEVERITY_WARNING = "warning"
SEVERITY_ERROR = "error"

CANONICALIZATION = "json-recursive-ksort-v1"
CHECKSUM_ALGORITHM = "sha256"
SIGNATURE_ALGORITHM = "hmac-sha256"

# Sections every server export carries, with the JSON type each must have.
_REQUIRED_SECTIONS: tuple[tuple[str, type, str], ...] = (
    ("workflow", dict, "an object"),
    ("payloads", dict, "an object"),
    ("history_events", list, "an array"),
    ("commands", list, "an array"),
    ("signals", list, "an array"),
    ("updates", list, "an array"),
    ("tasks", list, "an array"),
    ("activities", list, "an array"),
    ("timers", list, "an array"),
    ("failures", list, "an array"),
    ("links", dict, "an object"),
    ("redaction", dict, "an object"),
    ("codec_schemas", dict, "an object"),
    ("payload_manifest", dict, "an object"),
)
_SETTLED = frozenset({"applied", "rejected"})


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _integer(value: Any) -> int | None:
    # bool is an int subclass; a JSON true is not a sequence number.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Findings:
    """Collects findings in the order checks run."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(
        self,
        rule: str,
        severity: str,
        message: str,
        context: Mapping[str, Any] | None = None,
        *,
        path: str | None = None,
    ) -> None:
        finding: dict[str, Any] = {"rule": rule, "severity": severity, "message": message, "path": path}
        if context:
            finding["context"] = dict(context)
        self.items.append(finding)


def canonical_bundle_json(bundle: Mapping[str, Any]) -> str:
    """The ``json-recursive-ksort-v1`` text the checksum and signature are computed over.

    Raises ``ValueError`` for content JSON cannot represent faithfully (NaN, infinities, non-string
    keys, non-JSON types).
    """

    def walk(value: Any) -> Any:
        if isinstance(value, Mapping):
            if not all(isinstance(key, str) for key in value):
                raise ValueError("object keys must be strings")
            return {key: walk(value[key]) for key in sorted(value)}
        if isinstance(value, (list, tuple)):
            return [walk(item) for item in value]
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} has no JSON representation")
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        raise ValueError(f"{type(value).__name__} is not a JSON value")

    body = {key: value for key, value in bundle.items() if key != "integrity"}
    return json.dumps(walk(body), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def seal_bundle(
    bundle: Mapping[str, Any], *, signing_key: str | None = None, key_id: str | None = None
) -> dict[str, Any]:
    """A copy of ``bundle`` with a fresh ``integrity`` block (checksum, and HMAC when keyed).

    For tests and tools that assemble bundles offline; servers seal their own exports.
    """
    sealed = {key: value for key, value in bundle.items() if key != "integrity"}
    canonical = canonical_bundle_json(sealed).encode("utf-8")
    signature = (
        hmac.new(signing_key.encode("utf-8"), canonical, hashlib.sha256).hexdigest() if signing_key else None
    )
    sealed["integrity"] = {
        "canonicalization": CANONICALIZATION,
        "checksum_algorithm": CHECKSUM_ALGORITHM,
        "checksum": hashlib.sha256(canonical).hexdigest(),
        "signature_algorithm": SIGNATURE_ALGORITHM if signing_key else None,
        "signature": signature,
        "key_id": key_id if signing_key else None,
    }
    return sealed


def _check_envelope(bundle: Mapping[str, Any], findings: _Findings) -> None:
    if "schema" not in bundle:
        findings.add(
            "bundle.schema_missing",
            SEVERITY_ERROR,
            "Bundle has no [schema] field; expected "
            f"[{BUNDLE_SCHEMA}]. Export the run again with GET .../history/export.",
        )
    elif bundle["schema"] != BUNDLE_SCHEMA:
        findings.add(
            "bundle.schema_unexpected",
            SEVERITY_ERROR,
            f"Bundle schema [{bundle['schema']}] is not [{BUNDLE_SCHEMA}]; "
            "this file is not a history export.",
            {"observed": bundle["schema"]},
        )
    if "schema_version" not in bundle:
        findings.add("bundle.schema_version_missing", SEVERITY_ERROR, "Bundle has no [schema_version] field.")
    elif _integer(bundle["schema_version"]) != BUNDLE_SCHEMA_VERSION:
        findings.add(
            "bundle.schema_version_unsupported",
            SEVERITY_ERROR,
            f"Bundle schema_version [{bundle['schema_version']}] is not supported; this verifier reads "
            f"version {BUNDLE_SCHEMA_VERSION}.",
            {"observed": bundle["schema_version"]},
        )
    if _text(bundle.get("exported_at")) is None:
        findings.add(
            "bundle.exported_at_missing", SEVERITY_WARNING, "Bundle has no non-empty [exported_at] timestamp."
        )
    for section, kind, described in _REQUIRED_SECTIONS:
        if section not in bundle:
            findings.add(
                "bundle.section_missing",
                SEVERITY_ERROR,
                f"Bundle is missing required section [{section}] ({described}).",
                {"section": section},
                path=section,
            )
        elif not isinstance(bundle[section], kind):
            findings.add(
                "bundle.section_invalid",
                SEVERITY_ERROR,
                f"Bundle section [{section}] must be {described}, got {type(bundle[section]).__name__}.",
                {"section": section},
                path=section,
            )


def _highest_sequence(events: Sequence[Any]) -> int | None:
    sequences = [
        seq
        for event in events
        if isinstance(event, Mapping) and (seq := _integer(event.get("sequence"))) is not None
    ]
    return max(sequences) if sequences else None


def _check_workflow(bundle: Mapping[str, Any], findings: _Findings) -> None:
    workflow = bundle.get("workflow")
    if not isinstance(workflow, Mapping):
        return
    for key, rule in (
        ("run_id", "workflow.run_id_missing"),
        ("instance_id", "workflow.instance_id_missing"),
        ("workflow_type", "workflow.workflow_type_missing"),
    ):
        if _text(workflow.get(key)) is None:
            findings.add(
                rule, SEVERITY_ERROR, f"workflow.{key} must be a non-empty string.", path=f"workflow.{key}"
            )
    declared = _integer(workflow.get("last_history_sequence"))
    events = bundle.get("history_events")
    highest = _highest_sequence(events) if isinstance(events, list) else None
    if declared is not None and highest is not None and declared < highest:
        findings.add(
            "workflow.last_history_sequence_stale",
            SEVERITY_WARNING,
            f"workflow.last_history_sequence={declared} is below the highest history event "
            f"sequence {highest}; "
            "the run summary was exported before its last events.",
            {"declared": declared, "observed": highest},
            path="workflow.last_history_sequence",
        )


def _check_history_events(bundle: Mapping[str, Any], findings: _Findings) -> None:
    events = bundle.get("history_events")
    if not isinstance(events, list):
        return
    previous: int | None = None
    seen_ids: set[str] = set()
    for index, event in enumerate(events):
        where = f"history_events[{index}]"
        if not isinstance(event, Mapping):
            findings.add(
                "history_events.entry_invalid",
                SEVERITY_ERROR,
                f"{where} is not an object.",
                {"index": index},
                path=where,
            )
            continue
        sequence = _integer(event.get("sequence"))
        if sequence is None:
            findings.add(
                "history_events.sequence_missing",
                SEVERITY_ERROR,
                f"{where}.sequence must be an integer.",
                {"index": index},
                path=f"{where}.sequence",
            )
        else:
            if previous is not None and sequence <= previous:
                findings.add(
                    "history_events.sequence_not_monotonic",
                    SEVERITY_ERROR,
                    f"{where}.sequence={sequence} does not strictly follow the previous sequence {previous}.",
                    {"index": index, "sequence": sequence, "previous_sequence": previous},
                    path=f"{where}.sequence",
                )
            previous = sequence
        # Exports key the event name as "type"; histories fetched page by page use "event_type".
        if _text(event.get("type")) is None and _text(event.get("event_type")) is None:
            findings.add(
                "history_events.type_missing",
                SEVERITY_ERROR,
                f"{where}.type must be a non-empty string.",
                {"index": index},
                path=f"{where}.type",
            )
        event_id = _text(event.get("id"))
        if event_id is not None:
            if event_id in seen_ids:
                findings.add(
                    "history_events.id_duplicate",
                    SEVERITY_ERROR,
                    f"{where}.id=[{event_id}] repeats an earlier event's id.",
                    {"index": index, "event_id": event_id},
                    path=f"{where}.id",
                )
            seen_ids.add(event_id)


def _referenced_command_ids(events: Sequence[Any]) -> set[str]:
    referenced: set[str] = set()
    for event in events:
        if not isinstance(event, Mapping):
            continue
        payload = event.get("payload")
        for holder in (event, payload if isinstance(payload, Mapping) else {}):
            command_id = _text(holder.get("workflow_command_id"))
            if command_id is not None:
                referenced.add(command_id)
    return referenced


def _check_commands(bundle: Mapping[str, Any], findings: _Findings) -> None:
    commands = bundle.get("commands")
    if not isinstance(commands, list):
        return
    events = bundle.get("history_events")
    referenced = _referenced_command_ids(events if isinstance(events, list) else [])
    for index, command in enumerate(commands):
        if not isinstance(command, Mapping):
            continue
        where = f"commands[{index}]"
        command_id = _text(command.get("id"))
        if command_id is None:
            findings.add(
                "commands.id_missing",
                SEVERITY_ERROR,
                f"{where}.id must be a non-empty string.",
                {"index": index},
                path=f"{where}.id",
            )
            continue
        status = _text(command.get("status"))
        outcome = _text(command.get("outcome"))
        settled = (
            status in _SETTLED
            or outcome in _SETTLED
            or _text(command.get("applied_at")) is not None
            or _text(command.get("rejected_at")) is not None
        )
        if settled and command_id not in referenced:
            findings.add(
                "commands.history_event_missing",
                SEVERITY_WARNING,
                f"{where} (id={command_id}, status={status or 'unknown'}) was settled but no history event "
                "references it through workflow_command_id.",
                {
                    "index": index,
                    "command_id": command_id,
                    "command_status": status,
                    "command_outcome": outcome,
                },
                path=where,
            )


def _check_payload_manifest(bundle: Mapping[str, Any], findings: _Findings) -> None:
    manifest = bundle.get("payload_manifest")
    entries = manifest.get("entries") if isinstance(manifest, Mapping) else None
    if not isinstance(entries, list):
        return
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            continue
        path = _text(entry.get("path")) or f"payload_manifest.entries[{index}]"
        codec = _text(entry.get("codec"))
        available = entry.get("available") is True
        if codec is None:
            findings.add(
                "payload_manifest.codec_missing",
                SEVERITY_ERROR,
                f"payload_manifest entry [{path}] declares no codec.",
                {"path": path},
                path=path,
            )
        if available and entry.get("redacted") is not True and entry.get("diagnostic") == "payload_missing":
            findings.add(
                "payload_manifest.payload_missing",
                SEVERITY_ERROR,
                f"payload_manifest entry [{path}] is marked available but its payload is missing; "
                "decoding this bundle would lose data.",
                {"path": path},
                path=path,
            )
        if codec != "avro" or not available:
            continue
        if _text(entry.get("avro_framing")) is None:
            findings.add(
                "payload_manifest.avro_framing_missing",
                SEVERITY_WARNING,
                f"payload_manifest entry [{path}] is Avro but has no avro_framing.",
                {"path": path},
                path=path,
            )
        declared = _text(entry.get("writer_schema_fingerprint"))
        writer = _text(entry.get("writer_schema"))
        if declared is not None and writer is not None:
            expected = "sha256:" + hashlib.sha256(writer.encode("utf-8")).hexdigest()
            if declared != expected:
                findings.add(
                    "payload_manifest.writer_schema_fingerprint_mismatch",
                    SEVERITY_ERROR,
                    f"payload_manifest entry [{path}] writer_schema_fingerprint {declared} is not the "
                    f"fingerprint of its writer_schema ({expected}).",
                    {"path": path, "declared": declared, "expected": expected},
                    path=path,
                )


def _check_redaction(bundle: Mapping[str, Any], findings: _Findings) -> None:
    redaction = bundle.get("redaction")
    if isinstance(redaction, Mapping) and redaction.get("applied") is True and not redaction.get("paths"):
        findings.add(
            "redaction.empty_paths",
            SEVERITY_INFO,
            "redaction.applied is true but redaction.paths is empty, "
            "so readers cannot tell what was redacted.",
            path="redaction.paths",
        )


def _integrity_report(
    block: Mapping[str, Any] | None,
    *,
    present: bool,
    signing_key_provided: bool,
    recomputed_checksum: str | None = None,
    checksum_matches: bool | None = None,
    signature_verified: bool | None = None,
) -> dict[str, Any]:
    block = block or {}
    checksum = _text(block.get("checksum"))
    return {
        "present": present,
        "canonicalization": _text(block.get("canonicalization")),
        "checksum_algorithm": _text(block.get("checksum_algorithm")),
        "expected_checksum": checksum,
        "recomputed_checksum": recomputed_checksum,
        "checksum_matches": checksum_matches,
        "signature_algorithm": _text(block.get("signature_algorithm")),
        "signature_present": _text(block.get("signature")) is not None,
        "signature_verified": signature_verified,
        "key_id": _text(block.get("key_id")),
        "checksum": checksum,
        "checksum_ok": checksum_matches,
        "signature_ok": signature_verified,
        "signing_key_provided": signing_key_provided,
    }


def _check_integrity(
    bundle: Mapping[str, Any], signing_key: str | None, findings: _Findings
) -> dict[str, Any]:
    block = bundle.get("integrity")
    keyed = bool(signing_key)
    if not isinstance(block, Mapping):
        findings.add(
            "integrity.missing",
            SEVERITY_ERROR,
            "Bundle has no [integrity] object, so it cannot be checked for tampering.",
            path="integrity",
        )
        # Nothing to check a key against, so none counts as used (as 0.4.84 reports it).
        return _integrity_report(None, present=False, signing_key_provided=False)

    def done(**kwargs: Any) -> dict[str, Any]:
        return _integrity_report(block, present=True, signing_key_provided=keyed, **kwargs)

    canonicalization = _text(block.get("canonicalization"))
    if canonicalization != CANONICALIZATION:
        findings.add(
            "integrity.canonicalization_unsupported",
            SEVERITY_ERROR,
            f"integrity.canonicalization [{canonicalization}] is not supported; this verifier reads "
            f"[{CANONICALIZATION}].",
            {"canonicalization": canonicalization},
            path="integrity.canonicalization",
        )
        return done()
    algorithm = _text(block.get("checksum_algorithm"))
    if algorithm != CHECKSUM_ALGORITHM:
        findings.add(
            "integrity.checksum_algorithm_unsupported",
            SEVERITY_ERROR,
            f"integrity.checksum_algorithm [{algorithm}] is not supported; "
            f"this verifier reads [{CHECKSUM_ALGORITHM}].",
            {"checksum_algorithm": algorithm},
            path="integrity.checksum_algorithm",
        )
        return done()
    checksum = _text(block.get("checksum"))
    if checksum is None:
        findings.add(
            "integrity.checksum_missing",
            SEVERITY_ERROR,
            "integrity.checksum is missing.",
            path="integrity.checksum",
        )
    try:
        canonical = canonical_bundle_json(bundle).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        findings.add(
            "integrity.canonicalization_failed",
            SEVERITY_ERROR,
            f"Bundle could not be canonicalized: {exc}.",
            path="integrity",
        )
        return done()

    recomputed = hashlib.sha256(canonical).hexdigest()
    matches: bool | None = None
    if checksum is not None:
        matches = hmac.compare_digest(recomputed, checksum)
        if not matches:
            findings.add(
                "integrity.checksum_mismatch",
                SEVERITY_ERROR,
                f"integrity.checksum [{checksum}] differs from the recomputed sha256 [{recomputed}]: "
                "the bundle "
                "was changed after export (or its producer canonicalizes differently).",
                {"expected": recomputed, "observed": checksum},
                path="integrity.checksum",
            )

    signature_algorithm = _text(block.get("signature_algorithm"))
    signature = _text(block.get("signature"))
    key_id = _text(block.get("key_id"))
    verified: bool | None = None
    if signature_algorithm is None and signature is None:
        pass
    elif signature_algorithm != SIGNATURE_ALGORITHM:
        findings.add(
            "integrity.signature_algorithm_unsupported",
            SEVERITY_ERROR,
            f"integrity.signature_algorithm [{signature_algorithm}] is not supported; this verifier reads "
            f"[{SIGNATURE_ALGORITHM}].",
            {"signature_algorithm": signature_algorithm},
            path="integrity.signature_algorithm",
        )
    elif signature is None:
        findings.add(
            "integrity.signature_missing",
            SEVERITY_ERROR,
            "integrity.signature_algorithm is set but integrity.signature is missing.",
            path="integrity.signature",
        )
    elif not signing_key:
        findings.add(
            "integrity.signature_key_unavailable",
            SEVERITY_WARNING,
            "Bundle is signed but no signing key was given, so the signature was not checked; "
            "pass --signing-key.",
            {"key_id": key_id},
            path="integrity.signature",
        )
    else:
        expected = hmac.new(signing_key.encode("utf-8"), canonical, hashlib.sha256).hexdigest()
        verified = hmac.compare_digest(expected, signature)
        if not verified:
            findings.add(
                "integrity.signature_mismatch",
                SEVERITY_ERROR,
                f"integrity.signature is not the HMAC-SHA256 of the bundle under the given key "
                f"(key_id={key_id or 'unknown'}): wrong key, or the bundle was changed.",
                {"key_id": key_id},
                path="integrity.signature",
            )
    return done(recomputed_checksum=recomputed, checksum_matches=matches, signature_verified=verified)


def _bundle_summary(bundle: Mapping[str, Any] | None) -> dict[str, Any]:
    bundle = bundle or {}
    workflow = bundle.get("workflow")
    workflow = workflow if isinstance(workflow, Mapping) else {}
    events = bundle.get("history_events")
    instance_id = _text(workflow.get("instance_id"))
    run_id = _text(workflow.get("run_id"))
    return {
        "schema": bundle.get("schema"),
        "schema_version": bundle.get("schema_version"),
        "instance_id": instance_id,
        "run_id": run_id,
        "workflow_instance_id": instance_id,
        "workflow_run_id": run_id,
        "history_event_count": len(events) if isinstance(events, list) else 0,
    }


def _report(findings: _Findings, bundle_summary: dict[str, Any], integrity: dict[str, Any]) -> dict[str, Any]:
    by_rule: dict[str, int] = {}
    counts = {SEVERITY_ERROR: 0, SEVERITY_WARNING: 0, SEVERITY_INFO: 0}
    for finding in findings.items:
        by_rule[finding["rule"]] = by_rule.get(finding["rule"], 0) + 1
        counts[finding["severity"]] += 1
    if counts[SEVERITY_ERROR]:
        status = STATUS_FAILED
    elif counts[SEVERITY_WARNING]:
        status = STATUS_WARNING
    else:
        status = STATUS_OK
    return {
        "schema": REPORT_SCHEMA,
        "schema_version": REPORT_SCHEMA_VERSION,
        "status": status,
        "bundle": bundle_summary,
        "integrity": integrity,
        "findings": findings.items,
        "summary": {
            "findings": len(findings.items),
            "errors": counts[SEVERITY_ERROR],
            "warnings": counts[SEVERITY_WARNING],
            "info": counts[SEVERITY_INFO],
            "findings_by_rule": by_rule,
        },
    }


def _unparseable(message: str) -> dict[str, Any]:
    findings = _Findings()
    findings.add("bundle.unparseable", SEVERITY_ERROR, message)
    integrity = _integrity_report(None, present=False, signing_key_provided=False)
    return _report(findings, _bundle_summary(None), integrity)


def verify_bundle(bundle: Any, signing_key: str | None = None) -> dict[str, Any]:
    """Verify a decoded history-export bundle; returns the verification report, never raises.

    ``status`` is ``failed`` when any error finding exists, ``warning`` when any warning does,
    else ``ok``. With ``signing_key`` the HMAC-SHA256 signature is checked too; a signed bundle
    checked without a key gives the ``integrity.signature_key_unavailable`` warning.
    """
    if not isinstance(bundle, Mapping):
        return _unparseable(f"A history-export bundle must be a JSON object, got {type(bundle).__name__}.")
    findings = _Findings()
    _check_envelope(bundle, findings)
    _check_workflow(bundle, findings)
    _check_history_events(bundle, findings)
    _check_commands(bundle, findings)
    _check_payload_manifest(bundle, findings)
    _check_redaction(bundle, findings)
    integrity = _check_integrity(bundle, signing_key, findings)
    return _report(findings, _bundle_summary(bundle), integrity)


def verify_bundle_json(payload: str, signing_key: str | None = None) -> dict[str, Any]:
    """Parse ``payload`` as JSON and verify it; invalid JSON gives a failed ``bundle.unparseable`` report."""
    try:
        bundle = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        return _unparseable(f"Bundle is not valid JSON: {exc}.")
    return verify_bundle(bundle, signing_key)


def write_json_report(report: Mapping[str, Any], output: str | None) -> None:
    """Pretty JSON (indent 2, sorted keys) to ``output`` (parents created) or to stdout."""
    text = json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False)
    if output:
        target = Path(output)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``durable-workflow-history-bundle-verify``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="durable-workflow-history-bundle-verify",
        description=f"Verify a {BUNDLE_SCHEMA} bundle offline and print a {REPORT_SCHEMA} report.",
    )
    parser.add_argument("bundle", help="path of a history-export JSON file")
    parser.add_argument("--signing-key", help="HMAC key the exporting server signed bundles with")
    parser.add_argument("--output", help="write the report to this file instead of stdout")
    parser.add_argument("--strict-warnings", action="store_true", help="exit 1 on a warning report too")
    args = parser.parse_args(argv)
    try:
        text = Path(args.bundle).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        parser.error(f"cannot read bundle {args.bundle}: {exc}")
    report = verify_bundle_json(text, args.signing_key)
    write_json_report(report, args.output)
    if report["status"] == STATUS_FAILED:
        return 1
    return 1 if report["status"] == STATUS_WARNING and args.strict_warnings else 0


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    sys.exit(main())
