"""A database file written before a column existed keeps working: the server adds the column."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dw_client import Client
from dw_devserver import DevServer


async def test_a_file_without_the_compatibility_column_is_upgraded_and_keeps_its_runs(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    async with DevServer.start(db=str(db)) as server, Client(server.url) as client:
        await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="kept")
    # what an older dev server left behind: the runs table without the column
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN compatibility")
        assert "compatibility" not in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}

    async with DevServer.start(db=str(db)) as server, Client(server.url) as client:
        assert (await client.describe_workflow("kept")).status == "pending"
        await client.register_worker(worker_id="w", task_queue="q")
        task = await client.poll_workflow_task(worker_id="w", task_queue="q", timeout=10)
        assert task is not None and task["workflow_id"] == "kept"
        await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="new")
    with sqlite3.connect(db) as conn:
        assert "compatibility" in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
