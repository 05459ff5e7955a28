"""Invocable activity carriers: HTTP and AWS Lambda (re-exported from :mod:`dw_worker.invocable`)."""

from dw_worker.invocable import (
    InvocableActivityCallable,
    InvocableActivityHandler,
    InvocableHttpResponse,
    handle_invocable_activity,
    handle_invocable_http_request,
    handle_invocable_lambda_event,
    lambda_invocable_activity_handler,
)

__all__ = [
    "InvocableActivityCallable",
    "InvocableActivityHandler",
    "InvocableHttpResponse",
    "handle_invocable_activity",
    "handle_invocable_http_request",
    "handle_invocable_lambda_event",
    "lambda_invocable_activity_handler",
]
