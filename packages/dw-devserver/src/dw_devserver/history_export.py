"""History-export bundles (control-plane.md §W7, ``durable-workflow.v2.history-export``).

One run's history, the commands that reached it, its updates, tasks, activities, timers,
failures, links to parent/child/continued runs, the codec schemas and a manifest of every
encoded payload, sealed by an ``integrity`` block: SHA-256 over the ``json-recursive-ksort-v1``
canonical form of the whole bundle minus ``integrity`` and, when the server has a signing key,
an HMAC-SHA256 signature over the same bytes (public-api.md §3.18).

The bundle also carries the reduced shape the recorded fixture shows (``events`` with
``event_type``/``timestamp``, ``metadata{exported_at, format_version}``), so readers of either
shape find what they expect. ``events`` repeats ``history_events``, so the payload manifest
lists the ``history_events`` paths only.

The dev server must not import ``dw_testing`` (it depends on us), so canonicalization is
written here; ``dw_testing.history_bundle_verify`` checks it independently.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from dw_devserver.clock import iso
from dw_devserver.completion import event_json
from dw_devserver.protocol import TERMINAL_STATUSES, status_bucket
from dw_devserver.store import Store, loads

SCHEMA = "durable-workflow.v2.history-export"
SCHEMA_VERSION = 1
FORMAT_VERSION = 1
CANONICALIZATION = "json-recursive-ksort-v1"
CHECKSUM_ALGORITHM = "sha256"
SIGNATURE_ALGORITHM = "hmac-sha256"

#: environment variables holding the HMAC key (and its advertised id) exports are signed with
SIGNING_KEY_ENV = "DW_DEVSERVER_HISTORY_EXPORT_SIGNING_KEY"
SIGNING_KEY_ID_ENV = "DW_DEVSERVER_HISTORY_EXPORT_KEY_ID"

#: the Avro generic-wrapper writer schema, exact text (codec.md §2)
AVRO_WRAPPER_SCHEMA = (
    '{"type":"record","name":"Payload","namespace":"durable_workflow","fields":'
    '[{"name":"json","type":"string"},{"name":"version","type":"int","default":1}]}'
)
_AVRO_FRAMINGS = {0x00: "generic-wrapper-v1", 0x01: "typed-schema-v1"}

#: event payload fields that hold encoded payload blobs
_PAYLOAD_FIELDS = ("arguments", "input", "result", "output", "details")

#: the command type a history event's ``workflow_command_id`` stands for
_COMMAND_TYPES = {
    "WorkflowStarted": "start",
    "StartAccepted": "start",
    "SignalReceived": "signal",
    "UpdateAccepted": "update",
    "UpdateApplied": "update",
    "UpdateCompleted": "update",
    "UpdateRejected": "update",
    "CancelRequested": "cancel",
    "WorkflowCancelRequested": "cancel",
    "WorkflowCancelled": "cancel",
    "WorkflowTerminated": "terminate",
    "TerminateRequested": "terminate",
    "RepairRequested": "repair",
    "WorkflowArchived": "archive",
}
_FAILURE_EVENT = re.compile(r"(Failed|TimedOut)$")


class SigningKeyError(ValueError):
    """The configured export signing key cannot be used."""


def canonical_json(bundle: Mapping[str, Any]) -> bytes:
    """``json-recursive-ksort-v1`` bytes of ``bundle`` without its ``integrity`` key.

    Keys sorted at every depth, compact separators, non-ASCII kept, NaN/infinity refused.
    """
    body = {key: value for key, value in bundle.items() if key != "integrity"}
    # sort_keys sorts at every depth, which is exactly the recursive ksort
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def seal(bundle: dict[str, Any], signing_key: str | None = None, key_id: str | None = None) -> dict[str, Any]:
    """Set ``bundle["integrity"]``: the checksum, plus an HMAC signature when a key is given."""
    canonical = canonical_json(bundle)
    signature = (
        hmac.new(signing_key.encode("utf-8"), canonical, hashlib.sha256).hexdigest() if signing_key else None
    )
    bundle["integrity"] = {
        "canonicalization": CANONICALIZATION,
        "checksum_algorithm": CHECKSUM_ALGORITHM,
        "checksum": hashlib.sha256(canonical).hexdigest(),
        "signature_algorithm": SIGNATURE_ALGORITHM if signing_key else None,
        "signature": signature,
        "key_id": (key_id or None) if signing_key else None,
    }
    return bundle


def signing_key_from_env(environ: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """The (key, key id) exports are signed with; (None, None) when no key is configured."""
    env = os.environ if environ is None else environ
    key = env.get(SIGNING_KEY_ENV)
    if key is None or key == "":
        return None, None
    if not key.strip():
        raise SigningKeyError(f"{SIGNING_KEY_ENV} is blank; set a non-blank HMAC key or unset it.")
    return key, env.get(SIGNING_KEY_ID_ENV) or None


def _float_safe(value: Any) -> Any:
    """Replace non-finite floats (which JSON cannot hold) by their text so sealing never fails."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _float_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_float_safe(v) for v in value]
    return value


def _avro_framing(blob: str) -> str | None:
    try:
        head = base64.b64decode(blob[:8] + "=" * (-len(blob[:8]) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _AVRO_FRAMINGS.get(head[0]) if head else None


class _Manifest:
    """Collects one entry per encoded payload found in the bundle."""

    def __init__(self, fingerprint: str) -> None:
        self.entries: list[dict[str, Any]] = []
        self._fingerprint = fingerprint

    def add(self, path: str, blob: Any, codec: str | None) -> None:
        if blob is None:
            return
        codec = codec or "avro"
        entry: dict[str, Any] = {"path": path, "codec": codec, "available": True, "redacted": False}
        if isinstance(blob, str):
            entry["encoding"] = "base64" if codec == "avro" else "text"
            entry["byte_length"] = len(blob.encode("utf-8"))
            entry["sha256"] = hashlib.sha256(blob.encode("utf-8")).hexdigest()
            if codec == "avro":
                framing = _avro_framing(blob)
                entry["avro_framing"] = framing
                if framing == "generic-wrapper-v1":
                    entry["writer_schema"] = AVRO_WRAPPER_SCHEMA
                    entry["writer_schema_fingerprint"] = self._fingerprint
                elif framing is None:
                    entry["diagnostic"] = "unrecognised_avro_framing"
        else:
            # inline JSON (legacy) payloads carry no Avro framing
            entry["encoding"] = "json"
            if codec == "avro":
                entry["codec"] = "json"
        self.entries.append(entry)


def _commands(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    commands: dict[str, dict[str, Any]] = {}
    for event in events:
        command_id = event.get("workflow_command_id") or event["payload"].get("workflow_command_id")
        if not command_id:
            continue
        kind = _COMMAND_TYPES.get(event["type"], re.sub(r"(?<!^)(?=[A-Z])", "_", event["type"]).lower())
        known = commands.get(command_id)
        if known is None:
            commands[command_id] = {
                "id": command_id,
                "type": kind,
                "status": "applied",
                "outcome": "applied",
                "history_event_sequence": event["sequence"],
                "history_event_type": event["type"],
                "history_event_sequences": [event["sequence"]],
                "applied_at": event["recorded_at"],
                "name": event["payload"].get("signal_name") or event["payload"].get("update_name"),
            }
        else:
            known["history_event_sequences"].append(event["sequence"])
        if event["type"] == "UpdateRejected":
            # the command reached the run and was settled, but as a rejection
            commands[command_id]["status"] = commands[command_id]["outcome"] = "rejected"
    return list(commands.values())


def _failures(
    events: Sequence[Mapping[str, Any]], run: Mapping[str, Any], updates: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for event in events:
        payload = event["payload"]
        failure = payload.get("failure")
        if failure is None and not _FAILURE_EVENT.search(event["type"]):
            continue
        details = failure if isinstance(failure, dict) else {}
        out.append(
            {
                "source": "history_event",
                "history_event_sequence": event["sequence"],
                "event_type": event["type"],
                "step_sequence": payload.get("sequence"),
                "exception_type": details.get("exception_type"),
                "message": details.get("message", payload.get("message")),
                "failure": failure,
                "recorded_at": event["recorded_at"],
            }
        )
    for upd in updates:
        if upd["failure"] is not None:
            out.append({"source": "update", "update_id": upd["id"], "failure": upd["failure"]})
    run_failure = loads(run["failure"])
    if run_failure is not None and not any(f.get("event_type") == "WorkflowFailed" for f in out):
        out.append({"source": "run", "failure": run_failure})
    return out


def _link(store: Store, run_id: str | None) -> dict[str, Any] | None:
    if not run_id:
        return None
    row = store.one("SELECT workflow_id, run_id, workflow_type, status FROM runs WHERE run_id = ?", (run_id,))
    if row is None:
        return {"run_id": run_id, "available": False}
    return {
        "workflow_id": row["workflow_id"],
        "instance_id": row["workflow_id"],
        "run_id": row["run_id"],
        "workflow_type": row["workflow_type"],
        "status": row["status"],
        "available": True,
    }


def _links(store: Store, run: Mapping[str, Any]) -> dict[str, Any]:
    parent = _link(store, run["parent_run_id"])
    if parent is not None:
        parent["parent_sequence"] = run["parent_sequence"]
        parent["parent_close_policy"] = run["parent_close_policy"]
    children = [
        {
            "workflow_id": r["workflow_id"],
            "instance_id": r["workflow_id"],
            "run_id": r["run_id"],
            "workflow_type": r["workflow_type"],
            "status": r["status"],
            "parent_sequence": r["parent_sequence"],
            "parent_close_policy": r["parent_close_policy"],
            "child_call_id": r["child_call_id"],
        }
        for r in store.all(
            "SELECT * FROM runs WHERE parent_run_id = ? ORDER BY parent_sequence, run_number",
            (run["run_id"],),
        )
    ]
    successor = store.one("SELECT run_id FROM runs WHERE continued_from_run_id = ?", (run["run_id"],))
    return {
        "parent": parent,
        "children": children,
        "continued_from": _link(store, run["continued_from_run_id"]),
        "continued_as": _link(store, successor["run_id"] if successor else None),
    }


def _tasks(store: Store, run_id: str) -> list[dict[str, Any]]:
    tasks = [
        {
            "id": r["id"],
            "task_type": "workflow",
            "status": r["status"],
            "task_queue": r["task_queue"],
            "attempt_count": r["attempt_count"],
            "update_id": r["update_id"],
            "available_at": iso(r["available_at"]),
            "created_at": iso(r["created_at"]),
            "last_error": loads(r["last_error"]) if r["last_error"] else None,
        }
        for r in store.all("SELECT * FROM workflow_tasks WHERE run_id = ? ORDER BY created_at, id", (run_id,))
    ]
    tasks += [
        {
            "id": r["task_id"],
            "task_type": "activity",
            "status": r["status"],
            "activity_execution_id": r["execution_id"],
            "activity_attempt_id": r["id"],
            "attempt_number": r["attempt_number"],
            "started_at": iso(r["started_at"]),
            "closed_at": iso(r["closed_at"]),
        }
        for r in store.all(
            "SELECT a.* FROM activity_attempts a JOIN activity_executions e ON e.id = a.execution_id"
            " WHERE e.run_id = ? ORDER BY a.started_at, a.attempt_number",
            (run_id,),
        )
    ]
    return tasks


def _activities(store: Store, run_id: str, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    outcome: dict[int, Mapping[str, Any]] = {}
    for event in events:
        if event["type"] in ("ActivityCompleted", "ActivityFailed", "ActivityTimedOut", "ActivityCancelled"):
            seq = event["payload"].get("sequence")
            if isinstance(seq, int):
                outcome[seq] = event
    out = []
    for r in store.all("SELECT * FROM activity_executions WHERE run_id = ? ORDER BY sequence", (run_id,)):
        closing = outcome.get(r["sequence"])
        payload = closing["payload"] if closing else {}
        out.append(
            {
                "id": r["id"],
                "sequence": r["sequence"],
                "activity_type": r["activity_type"],
                "task_queue": r["task_queue"],
                "status": r["status"],
                "arguments": r["arguments"],
                "result": payload.get("result"),
                "failure": payload.get("failure"),
                "payload_codec": r["payload_codec"],
                "attempt_count": r["attempt_count"],
                "max_attempts": r["max_attempts"],
                "retry_policy": loads(r["retry_policy"]),
                "scheduled_at": iso(r["scheduled_at"]),
                "closed_at": iso(r["closed_at"]),
                "closing_event_sequence": closing["sequence"] if closing else None,
            }
        )
    return out


def _updates(store: Store, run_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": r["id"],
            "name": r["update_name"],
            "status": r["status"],
            "command_id": r["command_id"],
            "command_sequence": r["command_sequence"],
            "workflow_sequence": r["workflow_sequence"],
            "request_id": r["request_id"],
            "arguments": r["arguments"],
            "result": r["result"],
            "failure": loads(r["failure"]),
            "payload_codec": r["payload_codec"],
            "accepted_at": iso(r["accepted_at"]),
            "closed_at": iso(r["closed_at"]),
        }
        for r in store.all(
            "SELECT * FROM updates WHERE run_id = ? ORDER BY command_sequence, accepted_at", (run_id,)
        )
    ]


def _timers(store: Store, run_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": r["id"],
            "sequence": r["sequence"],
            "status": r["status"],
            "fire_at": iso(r["fire_at"]),
            "timer_kind": r["timer_kind"],
            "condition_wait_id": r["condition_wait_id"],
            "details": loads(r["details"], {}),
        }
        for r in store.all("SELECT * FROM timers WHERE run_id = ? ORDER BY sequence, fire_at", (run_id,))
    ]


def _waits(store: Store, run_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": r["id"],
            "sequence": r["sequence"],
            "condition_key": r["condition_key"],
            "condition_definition_fingerprint": r["fingerprint"],
            "timeout_seconds": r["timeout_seconds"],
            "timer_id": r["timer_id"],
            "status": r["status"],
        }
        for r in store.all("SELECT * FROM condition_waits WHERE run_id = ? ORDER BY sequence", (run_id,))
    ]


def build_bundle(
    store: Store,
    run: Mapping[str, Any],
    view: Mapping[str, Any],
    *,
    now: float,
    signing_key: str | None = None,
    key_id: str | None = None,
) -> dict[str, Any]:
    """The sealed export bundle of ``run`` (a ``runs`` row); ``view`` is its describe body."""
    run_id = run["run_id"]
    rows = store.all("SELECT * FROM history_events WHERE run_id = ? ORDER BY sequence", (run_id,))
    history = [event_json(r, key="type") for r in rows]
    codec = run["payload_codec"] or "avro"
    fingerprint = "sha256:" + hashlib.sha256(AVRO_WRAPPER_SCHEMA.encode("utf-8")).hexdigest()
    manifest = _Manifest(fingerprint)
    manifest.add("payloads.arguments.data", run["input"], codec)
    manifest.add("payloads.output.data", run["output"], codec)
    for index, event in enumerate(history):
        payload = event["payload"]
        for field in _PAYLOAD_FIELDS:
            value = payload.get(field)
            if isinstance(value, str):
                manifest.add(
                    f"history_events[{index}].payload.{field}", value, payload.get("payload_codec", codec)
                )

    signals = [
        {
            "id": e["payload"].get("signal_id"),
            "command_id": e["workflow_command_id"] or e["payload"].get("workflow_command_id"),
            "name": e["payload"].get("signal_name"),
            "arguments": e["payload"].get("arguments"),
            "payload_codec": e["payload"].get("payload_codec", codec),
            "workflow_sequence": e["sequence"],
            "received_at": e["recorded_at"],
        }
        for e in history
        if e["type"] == "SignalReceived"
    ]
    updates = _updates(store, run_id)
    activities = _activities(store, run_id, history)
    for section, items, fields in (
        ("signals", signals, ("arguments",)),
        ("updates", updates, ("arguments", "result")),
        ("activities", activities, ("arguments", "result")),
    ):
        for index, item in enumerate(items):
            for field in fields:
                manifest.add(f"{section}[{index}].{field}", item[field], item["payload_codec"])
    exported_at = iso(now)
    terminal = run["status"] in TERMINAL_STATUSES
    wf = store.one("SELECT current_run_id FROM workflows WHERE workflow_id = ?", (run["workflow_id"],))
    current_run_id = wf["current_run_id"] if wf else run_id
    bundle: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "exported_at": exported_at,
        "dedupe_key": f"{run_id}:{run['last_history_sequence']}",
        "history_complete": terminal,
        "workflow": {
            "instance_id": run["workflow_id"],
            "run_id": run_id,
            "run_number": run["run_number"],
            "is_current_run": current_run_id == run_id,
            "current_run_id": current_run_id,
            "current_run_source": "workflow_instance",
            "workflow_type": run["workflow_type"],
            "workflow_class": run["workflow_type"],
            "source_runtime": None,
            "source_process_class": None,
            "namespace": run["namespace"],
            "business_key": run["business_key"],
            "visibility_labels": {},
            "memo": view.get("memo", {}),
            "search_attributes": view.get("search_attributes", {}),
            "status": run["status"],
            "status_bucket": status_bucket(run["status"]),
            "closed_reason": run["closed_reason"],
            "archived_at": iso(run["archived_at"]),
            "archive_command_id": None,
            "archive_reason": run["archive_reason"],
            "compatibility": run["compatibility"],
            "connection": None,
            "queue": run["task_queue"],
            "last_history_sequence": run["last_history_sequence"],
            "started_at": iso(run["started_at"]),
            "closed_at": iso(run["closed_at"]),
            "last_progress_at": iso(run["last_progress_at"]),
        },
        "payloads": {
            "codec": codec,
            "arguments": {"available": run["input"] is not None, "data": run["input"]},
            "output": {"available": run["output"] is not None, "codec": codec, "data": run["output"]},
        },
        "summary": {
            "history_event_count": len(history),
            "signal_count": len(signals),
            "update_count": len(updates),
            "activity_count": len(activities),
            "status": run["status"],
            "wait_kind": run["wait_kind"] if run["status"] == "waiting" else None,
        },
        "selected_run": {
            "instance_id": run["workflow_id"],
            "run_id": run_id,
            "run_number": run["run_number"],
            "is_current_run": current_run_id == run_id,
        },
        "history_events": history,
        "waits": _waits(store, run_id),
        "timeline": [
            {"sequence": e["sequence"], "type": e["type"], "recorded_at": e["recorded_at"]} for e in history
        ],
        "linked_intakes_scope": "selected_run",
        "linked_intakes": [],
        "commands": _commands(history),
        "signals": signals,
        "updates": updates,
        "tasks": _tasks(store, run_id),
        "activities": activities,
        "timers": _timers(store, run_id),
        "failures": _failures(history, run, updates),
        "links": _links(store, run),
        "redaction": {"applied": False, "paths": []},
        "codec_schemas": {
            "avro": {
                "framing": "generic-wrapper-v1",
                "writer_schema": AVRO_WRAPPER_SCHEMA,
                "writer_schema_fingerprint": fingerprint,
            }
        },
        "payload_manifest": {"entries": manifest.entries},
        # the reduced shape of the recorded export fixture
        "events": [
            {
                "sequence": e["sequence"],
                "event_type": e["type"],
                "timestamp": e["recorded_at"],
                "payload": e["payload"],
            }
            for e in history
        ],
        "metadata": {
            "exported_at": exported_at,
            "format_version": FORMAT_VERSION,
            "event_count": len(history),
            "exported_by": "dw-devserver",
        },
    }
    # stored JSON may hold NaN/Infinity (Python's json accepts them); the canonical form cannot
    clean: dict[str, Any] = _float_safe(bundle)
    return seal(clean, signing_key, key_id)
