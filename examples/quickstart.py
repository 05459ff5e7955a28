"""Quickstart placeholder until the worker and dev server land: round-trip a payload."""

import durable_workflow

print(f"durable-workflow {durable_workflow.__version__} installed")
