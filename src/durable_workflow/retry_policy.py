"""HTTP transport retry policy of SDK calls (re-exported from :mod:`dw_core.retry_policy`).

Durable retries of activities and child workflows are ``workflow.ActivityRetryPolicy`` and
``workflow.ChildWorkflowRetryPolicy``.
"""

from dw_core.retry_policy import RetryPolicy, TransportRetryPolicy

__all__ = ["RetryPolicy", "TransportRetryPolicy"]
