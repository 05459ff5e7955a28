"""HTTP transport of the client: one connection pool, headers, tokens, retries, metrics, errors.

Every client call goes through :meth:`Transport.call`. It builds the URL from a route template whose
identifiers are percent-encoded (so ids containing ``/`` or ``?`` reach the right resource), sends the
plane's headers and token, retries what is safe to retry, records the request metrics, and turns HTTP
errors into the typed exceptions of :mod:`dw_core.errors`.

Bytes travel over ``httpx``, except worker-plane calls when the fast worker plane is on: those go
over :class:`dw_client.fast_transport.KeepAliveHttp` (plain asyncio keep-alive connections, several
times cheaper per call). Only the carrier differs; the policy above is this one module's for both.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import os
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

import httpx
from dw_core import protocol
from dw_core.errors import ErrorContext, error_from_response
from dw_core.metrics import CLIENT_REQUEST_DURATION_SECONDS, CLIENT_REQUESTS, MetricsRecorder
from dw_core.retry_policy import TransportRetryPolicy, retry_after_from_exception

from dw_client.fast_transport import KeepAliveHttp, RawResponse, supports_keepalive_http
from dw_client.transport_errors import RequestOutcomeUnknown

__all__ = ["NO_BODY", "Plane", "Reply", "Retry", "Transport", "escape_path_segment", "validate_base_url"]


class Plane(enum.Enum):
    """Which HTTP surface a call belongs to; decides the token and the version header."""

    CONTROL = "control"
    WORKER = "worker"


class Retry(enum.Enum):
    """How safe a call is to repeat when its outcome is unknown.

    ``SAFE``: repeating cannot apply it twice (reads, PUT/DELETE, calls deduplicated by the server
    through a poll request id, an update request id, a bridge idempotency key, or fenced by a task
    attempt). ``UNSENT_ONLY``: retried only when the request certainly did not reach the server
    (connection refused/timed out before sending) or the server said it did not process it
    (HTTP 429, 503).
    """

    SAFE = "safe"
    UNSENT_ONLY = "unsent_only"


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Final = _NoBody()
"""Marker for a request without a JSON body (GET, DELETE)."""

# Statuses with which a server declares it did not act on the request.
_NOT_PROCESSED_STATUSES: Final = frozenset({429, 503})
# Failures raised before any byte of the request left this process.
_UNSENT_ERRORS: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Reply:
    """A server answer: status and parsed body (``None`` for an empty body, text when not JSON)."""

    status: int
    body: Any


def escape_path_segment(value: str) -> str:
    """Percent-encode one path segment so ``/``, ``?``, ``#``, ``%`` and spaces stay inside it."""
    return quote(value, safe="-._~:")


def validate_base_url(base_url: str) -> str:
    """Return the server root URL without trailing slash, or raise ``ValueError`` saying what to fix."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise ValueError("base_url must be the server URL, e.g. 'http://127.0.0.1:8080'")
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"base_url {base_url!r} must be an absolute http(s) URL such as 'http://127.0.0.1:8080'"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"base_url {base_url!r} must not carry a query string or fragment; remove them")
    if parts.path.rstrip("/").endswith("/api"):
        root = url[: -len("/api")]
        raise ValueError(
            f"base_url {base_url!r} ends with '/api', but the client adds '/api' itself: remove the "
            f"trailing '/api' and pass {root!r}"
        )
    return url


def _route_template(route: str) -> str:
    return route if route.startswith("/") else "/" + route


class Transport:
    """One ``httpx.AsyncClient`` plus the request policy shared by every call of a client.

    With ``fast_worker_plane`` (the default), no custom ``http_transport`` and a server reached
    without a proxy, worker-plane calls are carried by a :class:`KeepAliveHttp` pool instead.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        control_token: str | None,
        worker_token: str | None,
        namespace: str,
        timeout: float,
        retry_policy: TransportRetryPolicy,
        metrics: MetricsRecorder,
        http_transport: httpx.AsyncBaseTransport | None = None,
        fast_worker_plane: bool = True,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        self._api_root = self.base_url + protocol.API_PREFIX
        self._api_path = quote(urlsplit(self.base_url).path, safe="/%:@!$&'()*+,;=-._~") + protocol.API_PREFIX
        self.namespace = namespace
        self.timeout = timeout
        self.retry_policy = retry_policy
        self._policy = _with_httpx_classification(retry_policy)
        self.metrics = metrics
        control_version = os.environ.get(protocol.CONTROL_PLANE_VERSION_ENV, "").strip()
        worker_version = os.environ.get(protocol.WORKER_PROTOCOL_VERSION_ENV, "").strip()
        self._headers = {
            Plane.CONTROL: self._plane_headers(
                control_token or token or worker_token,
                protocol.CONTROL_PLANE_VERSION_HEADER,
                control_version or protocol.CONTROL_PLANE_VERSION,
            ),
            Plane.WORKER: self._plane_headers(
                worker_token or token or control_token,
                protocol.WORKER_PROTOCOL_VERSION_HEADER,
                worker_version or protocol.WORKER_PROTOCOL_VERSION,
            ),
        }
        common_headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self._http = httpx.AsyncClient(timeout=timeout, transport=http_transport, headers=common_headers)
        self._keepalive: KeepAliveHttp | None = None
        if fast_worker_plane and http_transport is None and supports_keepalive_http(self.base_url):
            self._keepalive = KeepAliveHttp(
                self.base_url,
                headers={**common_headers, **self._headers[Plane.WORKER]},
                connect_timeout=timeout,
            )
        self._closed = False

    def _plane_headers(self, token: str | None, version_header: str, version: str) -> dict[str, str]:
        headers = {protocol.NAMESPACE_HEADER: self.namespace, version_header: version}
        if token:
            headers[protocol.AUTHORIZATION_HEADER] = f"Bearer {token}"
        return headers

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has run."""
        return self._closed

    @property
    def fast_worker_plane(self) -> bool:
        """Whether worker-plane calls travel over the keep-alive asyncio path (else over ``httpx``)."""
        return self._keepalive is not None

    def disable_fast_worker_plane(self) -> None:
        """Send worker-plane calls over ``httpx`` from now on (idle fast connections are closed)."""
        keepalive, self._keepalive = self._keepalive, None
        if keepalive is not None:
            keepalive.close()

    async def aclose(self) -> None:
        """Close the connection pools; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._keepalive is not None:
            self._keepalive.close()
        await self._http.aclose()

    def url_for(self, route: str, path_params: Mapping[str, str] | None = None) -> str:
        """Absolute URL of ``route`` (relative to ``/api``) with escaped path parameters."""
        return self._api_root + _route_path(_route_template(route), path_params)

    async def call(
        self,
        method: str,
        route: str,
        *,
        path_params: Mapping[str, str] | None = None,
        plane: Plane = Plane.CONTROL,
        query: Mapping[str, Any] | None = None,
        body: Any = NO_BODY,
        retry: Retry,
        context: ErrorContext | None = None,
        timeout: float | None = None,
        retry_timeouts: bool = True,
        returned_error_statuses: Collection[int] = (),
        error_outcome: str = "http_error",
    ) -> Reply:
        """Send one logical request (with retries) and return the reply, or raise the mapped error.

        ``route`` is the template used for the metrics ``route`` tag (``/workflows/{workflow_id}``);
        ``path_params`` fill it. Statuses in ``returned_error_statuses`` are returned instead of
        raised (tagged ``error_outcome`` in metrics). ``retry_timeouts=False`` lets long polls treat a
        read timeout as "nothing arrived" instead of retrying it here.
        """
        if self._closed:
            raise RuntimeError("this client is closed; create a new Client to send more requests")
        template = _route_template(route)
        path = _route_path(template, path_params)
        url = self._api_root + path
        content = None if body is NO_BODY else _json_body(body, method, template)
        params = {k: _query_value(v) for k, v in query.items() if v is not None} if query else None
        headers = self._headers[plane]
        # The keep-alive carrier replaces a reused connection the server dropped without answering at
        # once, which is only right for calls that are safe to repeat (all worker-plane calls are).
        keepalive = self._keepalive if plane is Plane.WORKER and retry is Retry.SAFE else None
        if keepalive is not None:
            target = self._api_path + path + ("?" + urlencode(params) if params else "")
            raw_body = None if content is None else content.encode()
        request_timeout = self.timeout if timeout is None else timeout
        policy = self._policy
        started = time.perf_counter()
        attempt = 0
        status: int | None = None
        try:
            while True:
                attempt += 1
                try:
                    response: httpx.Response | RawResponse
                    if keepalive is not None:
                        response = await keepalive.request(method, target, raw_body, timeout=request_timeout)
                    else:
                        response = await self._http.request(
                            method,
                            url,
                            content=content,
                            params=params,
                            headers=headers,
                            timeout=request_timeout,
                        )
                except httpx.TransportError as exc:
                    unsent = isinstance(exc, _UNSENT_ERRORS)
                    if isinstance(exc, httpx.TimeoutException) and not (retry_timeouts or unsent):
                        raise
                    if unsent or retry is Retry.SAFE:
                        if policy.should_retry(exc, attempt):
                            await asyncio.sleep(policy.retry_delay_seconds(attempt - 1))
                            continue
                        raise
                    if attempt < policy.max_attempts and policy.is_retryable(exc):
                        raise RequestOutcomeUnknown(
                            f"{method} {template} failed with {type(exc).__name__} ({exc}) after the request "
                            "may have reached the server; it was not retried because repeating it could "
                            "apply it twice. Check the resource's current state before sending it again.",
                            method=method,
                            route=template,
                            request=exc.request if _has_request(exc) else None,
                        ) from exc
                    raise
                status = response.status_code
                if (status >= 500 or status == 429) and (
                    retry is Retry.SAFE or status in _NOT_PROCESSED_STATUSES
                ):
                    # Decided by the policy like any HTTP status error, so subclasses and classifiers apply.
                    http_response = _as_httpx_response(response, method, url)
                    status_error = httpx.HTTPStatusError(
                        f"server returned {status}", request=http_response.request, response=http_response
                    )
                    retry_after = retry_after_from_exception(status_error)
                    wait_ok = retry_after is None or retry_after <= policy.max_retry_after_seconds
                    if wait_ok and policy.should_retry(status_error, attempt):
                        await asyncio.sleep(policy.retry_delay_seconds(attempt - 1, retry_after))
                        continue
                break
            reply = Reply(status, _parse_body(response))
        except BaseException as exc:
            self._record(method, template, plane, status, type(exc).__name__, started)
            raise
        if status >= 400 and status not in returned_error_statuses:
            self._record(method, template, plane, status, "http_error", started)
            # Raised without a local name: a frame holding its own exception is a reference cycle.
            raise error_from_response(status, reply.body, context=context)
        self._record(method, template, plane, status, "ok" if status < 400 else error_outcome, started)
        return reply

    def _record(
        self, method: str, route: str, plane: Plane, status: int | None, outcome: str, started: float
    ) -> None:
        tags = {
            "method": method.upper(),
            "route": route,
            "plane": plane.value,
            "status_code": "none" if status is None else str(status),
            "outcome": outcome,
        }
        try:
            self.metrics.increment(CLIENT_REQUESTS, 1.0, tags)
            self.metrics.record(CLIENT_REQUEST_DURATION_SECONDS, time.perf_counter() - started, tags)
        except Exception:
            pass


def _route_path(template: str, path_params: Mapping[str, str] | None) -> str:
    if not path_params:
        return template
    return template.format_map({key: escape_path_segment(value) for key, value in path_params.items()})


def _as_httpx_response(response: httpx.Response | RawResponse, method: str, url: str) -> httpx.Response:
    """An ``httpx.Response`` for retry classifiers, which inspect ``exc.response`` (built on errors only)."""
    if isinstance(response, httpx.Response):
        return response
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=response.content,
        request=httpx.Request(method, url),
    )


def _peer_hung_up(exc: BaseException) -> bool | None:
    """A server that closed the connection mid-exchange is a transient failure (no opinion otherwise)."""
    return True if isinstance(exc, httpx.RemoteProtocolError) else None


def _with_httpx_classification(policy: TransportRetryPolicy) -> TransportRetryPolicy:
    """``policy`` plus the httpx rule core cannot know; the user's classifiers still decide first."""
    if not dataclasses.is_dataclass(policy) or _peer_hung_up in policy.classifiers:
        return policy
    return dataclasses.replace(policy, classifiers=(*policy.classifiers, _peer_hung_up))


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - property raises when unset
    except RuntimeError:
        return False
    return True


# Built once: json.dumps with options constructs a new encoder on every call.
_JSON_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _json_body(body: Any, method: str, route: str) -> str:
    try:
        return _JSON_ENCODER.encode(body)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"the request body of {method} {route} is not JSON ({exc}); plain JSON fields such as memo, "
            "search_attributes, target or config must hold only str, int, finite float, bool, None, "
            "lists and dicts with string keys"
        ) from exc


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_body(response: httpx.Response | RawResponse) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        if isinstance(response, httpx.Response):
            return response.text
        return response.content.decode("utf-8", "replace")
