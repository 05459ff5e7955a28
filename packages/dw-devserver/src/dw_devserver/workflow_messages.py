"""Messages to a running workflow: signals (recorded and delivered with the next workflow task) and
updates (accepted, queued as update tasks, waited on by their callers)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from dw_devserver.codec import event_value
from dw_devserver.ids import new_id
from dw_devserver.protocol import TERMINAL_STATUSES
from dw_devserver.store import Transaction

if TYPE_CHECKING:
    from dw_devserver.engine import Engine


class WorkflowMessages:
    """Signals and updates sent to a workflow's current run."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store
        #: waiters for updates (update_id -> event), released when the update closes
        self._update_waiters: dict[str, asyncio.Event] = {}

    def signal_workflow(
        self, namespace: str, workflow_id: str, signal_name: str, arguments: str | None, codec: str = "avro"
    ) -> dict[str, Any]:
        """Record a signal (``SignalReceived`` with its arguments) and wake the workflow."""
        with self.store.transaction() as tx:
            run = self.engine.current_run(namespace, workflow_id, tx)
            if run["status"] in TERMINAL_STATUSES:
                raise self.engine.reject_closed(run, signal_name=signal_name)
            command_id, command_seq = self.engine.next_command(tx, workflow_id)
            signal_id = new_id()
            self.engine.append_event(
                tx,
                run,
                "SignalReceived",
                {
                    "workflow_command_id": command_id,
                    "signal_id": signal_id,
                    "workflow_instance_id": workflow_id,
                    "workflow_run_id": run["run_id"],
                    "signal_name": signal_name,
                    "arguments": arguments,
                    "payload_codec": codec,
                },
                command_id=command_id,
            )
            self.engine.ensure_workflow_task(
                tx,
                run,
                {
                    "resume_source_kind": "workflow_signal",
                    "workflow_signal_id": signal_id,
                    "signal_name": signal_name,
                },
            )
            return self.engine.command_result(
                run, "signal_received", command_id, command_seq, signal_name=signal_name
            )

    def accept_update(
        self,
        namespace: str,
        workflow_id: str,
        update_name: str,
        arguments: str | None,
        codec: str,
        request_id: str | None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Write ``UpdateAccepted`` and queue an update task; returns (run, update row)."""
        with self.store.transaction() as tx:
            run = self.engine.current_run(namespace, workflow_id, tx)
            if request_id:
                prior = tx.one(
                    "SELECT * FROM updates WHERE run_id = ? AND request_id = ? AND update_name = ?",
                    (run["run_id"], request_id, update_name),
                )
                if prior is not None:
                    return run, dict(prior)
            if run["status"] in TERMINAL_STATUSES:
                raise self.engine.reject_closed(run, update_name=update_name)
            command_id, command_seq = self.engine.next_command(tx, workflow_id)
            update_id = new_id()
            now = self.engine.now()
            row = {
                "id": update_id,
                "run_id": run["run_id"],
                "workflow_id": workflow_id,
                "namespace": namespace,
                "update_name": update_name,
                "arguments": arguments,
                "payload_codec": codec,
                "status": "accepted",
                "command_id": command_id,
                "command_sequence": command_seq,
                "result": None,
                "failure": None,
                "workflow_sequence": None,
                "request_id": request_id,
                "accepted_at": now,
                "closed_at": None,
            }
            tx.insert("updates", row)
            self.engine.append_event(
                tx,
                run,
                "UpdateAccepted",
                {
                    "workflow_command_id": command_id,
                    "update_id": update_id,
                    "workflow_instance_id": workflow_id,
                    "workflow_run_id": run["run_id"],
                    "update_name": update_name,
                    "arguments": event_value(arguments),
                    "payload_codec": codec,
                },
                command_id=command_id,
            )
            self.engine.ensure_workflow_task(
                tx,
                run,
                {"resume_source_kind": "workflow_update", "workflow_update_id": update_id},
                update_id=update_id,
            )
            return run, row

    def update_event(self, update_id: str) -> asyncio.Event:
        """Event set when the update closes."""
        ev = self._update_waiters.get(update_id)
        if ev is None:
            ev = self._update_waiters[update_id] = asyncio.Event()
        return ev

    def release_update(self, tx: Transaction, update_id: str) -> None:
        """Wake callers waiting on ``update_id`` after commit."""

        def fire() -> None:
            ev = self._update_waiters.pop(update_id, None)
            if ev is not None:
                ev.set()

        tx.after_commit(fire)
