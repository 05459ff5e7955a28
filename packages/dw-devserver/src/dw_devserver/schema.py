"""Core tables: namespaces, workers, workflow instances and runs, history, tasks, timers, updates.

Times are REAL epoch seconds on the server clock; JSON columns are TEXT. Route modules of other
features declare their own tables in their ``SCHEMA`` string.
"""

from dw_devserver.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS namespaces (
    name TEXT PRIMARY KEY,
    description TEXT,
    retention_days INTEGER NOT NULL DEFAULT 30,
    status TEXT NOT NULL DEFAULT 'active',
    data TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS workers (
    namespace TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    task_queue TEXT NOT NULL,
    runtime TEXT,
    sdk_version TEXT,
    build_id TEXT,
    supported_workflow_types TEXT NOT NULL DEFAULT '[]',
    supported_activity_types TEXT NOT NULL DEFAULT '[]',
    workflow_definition_fingerprints TEXT NOT NULL DEFAULT '{}',
    max_concurrent_workflow_tasks INTEGER NOT NULL DEFAULT 100,
    max_concurrent_activity_tasks INTEGER NOT NULL DEFAULT 100,
    capabilities TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'active',
    task_slots TEXT,
    process_metrics TEXT,
    heartbeat_interval_seconds INTEGER,
    last_heartbeat_at REAL NOT NULL,
    registered_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (namespace, worker_id)
);

CREATE TABLE IF NOT EXISTS workflows (
    workflow_id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    workflow_type TEXT NOT NULL,
    current_run_id TEXT,
    run_count INTEGER NOT NULL DEFAULT 0,
    command_count INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    run_number INTEGER NOT NULL,
    workflow_type TEXT NOT NULL,
    task_queue TEXT NOT NULL,
    status TEXT NOT NULL,
    closed_reason TEXT,
    business_key TEXT,
    payload_codec TEXT NOT NULL DEFAULT 'avro',
    input TEXT,
    output TEXT,
    memo TEXT NOT NULL DEFAULT '{}',
    search_attributes TEXT NOT NULL DEFAULT '{}',
    execution_timeout_seconds INTEGER,
    run_timeout_seconds INTEGER,
    execution_deadline_at REAL,
    run_deadline_at REAL,
    started_at REAL NOT NULL,
    closed_at REAL,
    last_progress_at REAL,
    last_history_sequence INTEGER NOT NULL DEFAULT 0,
    wait_kind TEXT,
    parent_workflow_id TEXT,
    parent_run_id TEXT,
    parent_sequence INTEGER,
    parent_close_policy TEXT,
    child_call_id TEXT,
    workflow_link_id TEXT,
    continued_from_run_id TEXT,
    retry_policy TEXT,
    retry_attempt INTEGER NOT NULL DEFAULT 1,
    failure TEXT,
    archived_at REAL,
    archive_reason TEXT,
    sort_key REAL NOT NULL,
    compatibility TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (workflow_id, run_number);
CREATE INDEX IF NOT EXISTS runs_by_namespace ON runs (namespace, sort_key);
CREATE INDEX IF NOT EXISTS runs_open_deadline ON runs (status, run_deadline_at);
CREATE INDEX IF NOT EXISTS runs_by_parent ON runs (parent_run_id);

CREATE TABLE IF NOT EXISTS history_events (
    run_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    workflow_task_id TEXT,
    workflow_command_id TEXT,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (run_id, sequence)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS workflow_tasks (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    task_queue TEXT NOT NULL,
    workflow_type TEXT NOT NULL,
    status TEXT NOT NULL,
    available_at REAL NOT NULL,
    lease_owner TEXT,
    lease_expires_at REAL,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    update_id TEXT,
    resume TEXT NOT NULL DEFAULT '{}',
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS wft_ready ON workflow_tasks (namespace, task_queue, status, available_at);
CREATE INDEX IF NOT EXISTS wft_by_run ON workflow_tasks (run_id, status);
CREATE INDEX IF NOT EXISTS wft_leases ON workflow_tasks (status, lease_expires_at);
CREATE INDEX IF NOT EXISTS wft_available ON workflow_tasks (status, available_at);

CREATE TABLE IF NOT EXISTS activity_executions (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    task_queue TEXT NOT NULL,
    activity_type TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    arguments TEXT,
    payload_codec TEXT NOT NULL DEFAULT 'avro',
    status TEXT NOT NULL,
    retry_policy TEXT,
    max_attempts INTEGER NOT NULL DEFAULT 1,
    start_to_close_timeout INTEGER,
    schedule_to_start_timeout INTEGER,
    schedule_to_close_timeout INTEGER,
    heartbeat_timeout INTEGER,
    attempt_count INTEGER NOT NULL DEFAULT 0,
    current_task_id TEXT,
    current_attempt_id TEXT,
    lease_owner TEXT,
    lease_expires_at REAL,
    available_at REAL NOT NULL,
    scheduled_at REAL NOT NULL,
    attempt_started_at REAL,
    last_heartbeat_at REAL,
    deadline_at REAL,
    closed_at REAL
);
CREATE INDEX IF NOT EXISTS act_ready ON activity_executions (namespace, task_queue, status, available_at);
CREATE INDEX IF NOT EXISTS act_deadline ON activity_executions (status, deadline_at);
CREATE INDEX IF NOT EXISTS act_available ON activity_executions (status, available_at);
CREATE INDEX IF NOT EXISTS act_by_run ON activity_executions (run_id, status);
CREATE INDEX IF NOT EXISTS act_by_task ON activity_executions (current_task_id);

CREATE TABLE IF NOT EXISTS activity_attempts (
    id TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    attempt_number INTEGER NOT NULL,
    status TEXT NOT NULL,
    lease_owner TEXT,
    started_at REAL NOT NULL,
    closed_at REAL
);
CREATE INDEX IF NOT EXISTS attempts_by_task ON activity_attempts (task_id);

CREATE TABLE IF NOT EXISTS timers (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    fire_at REAL NOT NULL,
    status TEXT NOT NULL,
    timer_kind TEXT,
    condition_wait_id TEXT,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS timers_due ON timers (status, fire_at);
CREATE INDEX IF NOT EXISTS timers_by_run ON timers (run_id, status);

CREATE TABLE IF NOT EXISTS condition_waits (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    condition_key TEXT,
    fingerprint TEXT,
    timeout_seconds INTEGER,
    timer_id TEXT,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS waits_by_run ON condition_waits (run_id, status);

CREATE TABLE IF NOT EXISTS updates (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    update_name TEXT NOT NULL,
    arguments TEXT,
    payload_codec TEXT NOT NULL DEFAULT 'avro',
    status TEXT NOT NULL,
    command_id TEXT NOT NULL,
    command_sequence INTEGER NOT NULL,
    result TEXT,
    failure TEXT,
    workflow_sequence INTEGER,
    request_id TEXT,
    accepted_at REAL NOT NULL,
    closed_at REAL
);
CREATE INDEX IF NOT EXISTS updates_by_run ON updates (run_id, status);

CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    kind TEXT NOT NULL,
    type TEXT,
    ref_id TEXT NOT NULL,
    status TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    PRIMARY KEY (run_id, sequence)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS steps_by_batch ON steps (run_id, batch_id);
CREATE INDEX IF NOT EXISTS steps_by_ref ON steps (ref_id);

CREATE TABLE IF NOT EXISTS standalone_activities (
    activity_id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    run_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    activity_type TEXT NOT NULL,
    activity_class TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS standalone_by_namespace ON standalone_activities (namespace, created_at);

CREATE TABLE IF NOT EXISTS build_id_rollouts (
    namespace TEXT NOT NULL,
    task_queue TEXT NOT NULL,
    build_id TEXT NOT NULL,
    drain_intent TEXT NOT NULL DEFAULT 'active',
    drained_at REAL,
    promoted_at REAL,
    rolled_back_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (namespace, task_queue, build_id)
);
-- A worker that registers into a drained cohort starts out draining, whichever code path inserts it.
CREATE TRIGGER IF NOT EXISTS workers_join_drained_cohort AFTER INSERT ON workers
WHEN EXISTS (
    SELECT 1 FROM build_id_rollouts r
    WHERE r.namespace = NEW.namespace AND r.task_queue = NEW.task_queue
      AND r.build_id = COALESCE(NEW.build_id, '') AND r.drain_intent = 'draining'
)
BEGIN
    UPDATE workers SET status = 'draining' WHERE namespace = NEW.namespace AND worker_id = NEW.worker_id;
END;
"""

#: columns added after a database file may already exist: (table, column, declaration)
ADDED_COLUMNS = (("runs", "compatibility", "TEXT"),)


def upgrade_columns(store: Store) -> None:
    """Add columns a database file created by an older dev server lacks (idempotent)."""
    for table, column, declaration in ADDED_COLUMNS:
        present = {row["name"] for row in store.all(f"PRAGMA table_info({table})")}
        if column not in present:
            store.apply_schema(f"ALTER TABLE {table} ADD COLUMN {column} {declaration};")
