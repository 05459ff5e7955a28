"""Blocking client and handles (implemented in ``dw_client.sync``)."""

from dw_client.sync import Client, SyncScheduleHandle, SyncStandaloneActivityHandle, SyncWorkflowHandle

__all__ = ["Client", "SyncScheduleHandle", "SyncStandaloneActivityHandle", "SyncWorkflowHandle"]
