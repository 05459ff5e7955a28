"""Worker interceptors (re-exported from ``dw_worker.interceptors``)."""

from dw_worker.interceptors import (
    ActivityHandler,
    ActivityInterceptorContext,
    PassthroughWorkerInterceptor,
    QueryTaskHandler,
    QueryTaskInterceptorContext,
    WorkerInterceptor,
    WorkflowTaskHandler,
    WorkflowTaskInterceptorContext,
)

__all__ = [
    "ActivityHandler",
    "ActivityInterceptorContext",
    "PassthroughWorkerInterceptor",
    "QueryTaskHandler",
    "QueryTaskInterceptorContext",
    "WorkerInterceptor",
    "WorkflowTaskHandler",
    "WorkflowTaskInterceptorContext",
]
