"""HTTP plumbing shared by every route module: errors, auth, headers, namespaces, bodies.

A route is declared with :class:`RouteTable`; the wrapper runs the checks in the real server's
order (body shape → auth 401 → role 403 → version header 400 → namespace 404 → handler) and
renders every failure as the JSON error envelope of control-plane.md §4.1.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from dw_devserver import protocol

if TYPE_CHECKING:
    from dw_devserver.runtime import Runtime

log = logging.getLogger("dw_devserver.http")

Plane = Literal["control", "worker", "discovery", "open"]
ALL_ROLES = ("admin", "operator", "worker")
OPERATOR_ROLES = ("operator", "admin")


class ApiError(Exception):
    """An HTTP error with a machine-readable ``reason``; extra fields go into the body."""

    def __init__(self, status: int, reason: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.fields = fields

    def body(self) -> dict[str, Any]:
        """The JSON error envelope."""
        return {"message": self.message, "reason": self.reason, **self.fields}


def validation_error(errors: Mapping[str, list[str]], message: str | None = None) -> ApiError:
    """422 ``validation_failed`` with the field -> messages map under both spellings."""
    errs = {k: list(v) for k, v in errors.items()}
    if message is None:
        first = next(iter(errs.values()))[0] if errs else "The given data was invalid."
        extra = len(errs) - 1
        message = first if extra <= 0 else f"{first} (and {extra} more error{'s' if extra > 1 else ''})"
    return ApiError(422, "validation_failed", message, errors=errs, validation_errors=errs)


class Fields:
    """Collects field validation errors for one request body, then raises them together."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix
        self.errors: dict[str, list[str]] = {}

    def fail(self, field: str, message: str) -> None:
        """Record an error for ``field``."""
        self.errors.setdefault(self.prefix + field, []).append(message)

    def string(
        self,
        field: str,
        *,
        required: bool = False,
        max_len: int | None = None,
        pattern: re.Pattern[str] | None = None,
        choices: Iterable[str] | None = None,
    ) -> str | None:
        """A string field (None when absent and optional)."""
        value = self.data.get(field)
        if value is None:
            if required:
                self.fail(field, f"The {field} field is required.")
            return None
        if not isinstance(value, str):
            self.fail(field, f"The {field} field must be a string.")
            return None
        if required and not value.strip():
            self.fail(field, f"The {field} field is required.")
            return None
        if max_len is not None and len(value) > max_len:
            self.fail(field, f"The {field} field must not be greater than {max_len} characters.")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(field, f"The {field} field format is invalid.")
            return None
        if choices is not None:
            allowed = list(choices)
            if value not in allowed:
                self.fail(field, f"The selected {field} is invalid (allowed: {', '.join(allowed)}).")
                return None
        return value

    def integer(
        self, field: str, *, required: bool = False, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        """An integer field; digit strings are accepted and coerced."""
        value = self.data.get(field)
        if value is None:
            if required:
                self.fail(field, f"The {field} field is required.")
            return None
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"The {field} field must be an integer.")
            return None
        if minimum is not None and value < minimum:
            self.fail(field, f"The {field} field must be at least {minimum}.")
            return None
        if maximum is not None and value > maximum:
            self.fail(field, f"The {field} field must not be greater than {maximum}.")
            return None
        return value

    def boolean(self, field: str) -> bool | None:
        """A boolean field."""
        value = self.data.get(field)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(field, f"The {field} field must be true or false.")
            return None
        return value

    def obj(self, field: str, *, required: bool = False) -> dict[str, Any] | None:
        """A JSON object field (PHP-style empty list ``[]`` counts as an empty object)."""
        value = self.data.get(field)
        if value is None:
            if required:
                self.fail(field, f"The {field} field is required.")
            return None
        if value == []:
            return {}
        if not isinstance(value, dict):
            self.fail(field, f"The {field} field must be an object.")
            return None
        return value

    def reject(self, field: str, message: str) -> None:
        """Reject a field that must not be sent."""
        if field in self.data:
            self.fail(field, message)

    def check(self) -> None:
        """Raise 422 when any error was recorded."""
        if self.errors:
            raise validation_error(self.errors)


@dataclasses.dataclass
class Ctx:
    """What a handler gets: the parsed request plus the server runtime."""

    request: Request
    rt: Runtime
    body: dict[str, Any]
    namespace: str
    role: str
    path: dict[str, str]

    @property
    def query(self) -> Mapping[str, str]:
        """Query-string parameters."""
        return self.request.query_params


Reply = dict[str, Any] | tuple[int, dict[str, Any]]
Handler = Callable[[Ctx], Awaitable[Reply]]


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A compact JSON response."""
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content, status_code=status, headers=headers, media_type="application/json")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(rt: Runtime, request: Request) -> tuple[str, bool]:
    """(role, full_access) of the caller; raises 401 when a token is required and wrong."""
    cfg = rt.config
    if not cfg.auth_enabled:
        return "admin", True
    token = _bearer(request)
    if token is not None:
        for known, role in cfg.role_tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return role, False
        if cfg.auth_token and hmac.compare_digest(cfg.auth_token.encode(), token.encode()):
            return "admin", not cfg.role_tokens
    raise ApiError(401, "unauthorized", "Invalid or missing authentication token.")


def _check_version_header(plane: Plane, request: Request, rt: Runtime) -> None:
    if plane == "control":
        raw = request.headers.get(protocol.CONTROL_PLANE_HEADER)
        value = raw.strip() if raw is not None else ""
        if not value:
            raise ApiError(
                400,
                "missing_control_plane_version",
                f"Missing {protocol.CONTROL_PLANE_HEADER} header.",
                supported_version=protocol.CONTROL_PLANE_VERSION,
                requested_version=None,
                remediation=f"Send {protocol.CONTROL_PLANE_HEADER}: {protocol.CONTROL_PLANE_VERSION}.",
            )
        if value != protocol.CONTROL_PLANE_VERSION:
            raise ApiError(
                400,
                "unsupported_control_plane_version",
                f"Unsupported control-plane version {value!r}.",
                supported_version=protocol.CONTROL_PLANE_VERSION,
                requested_version=value,
                remediation=f"Send {protocol.CONTROL_PLANE_HEADER}: {protocol.CONTROL_PLANE_VERSION}.",
            )
    elif plane == "worker":
        raw = request.headers.get(protocol.WORKER_PROTOCOL_HEADER)
        supported = rt.config.worker_protocol_version
        value = raw.strip() if raw is not None else ""
        if not value:
            raise ApiError(
                400,
                "missing_protocol_version",
                f"Missing {protocol.WORKER_PROTOCOL_HEADER} header.",
                error="missing_protocol_version",
                supported_version=supported,
                requested_version=None,
                remediation=f"Send {protocol.WORKER_PROTOCOL_HEADER}: {supported}.",
            )
        if not protocol.worker_version_accepted(value, supported):
            raise ApiError(
                400,
                "unsupported_protocol_version",
                f"Unsupported worker protocol version {value!r}; this server speaks {supported}.",
                error="unsupported_protocol_version",
                supported_version=supported,
                requested_version=value,
                remediation=f"Use a worker that speaks protocol 1.1 to {supported}.",
            )


def resolve_namespace(rt: Runtime, request: Request) -> str:
    """The request namespace (header, else ``?namespace=``, else the default), lower-cased."""
    name = request.headers.get("x-namespace") or request.query_params.get("namespace") or ""
    name = name.strip().lower()
    return name or rt.config.default_namespace


def require_namespace(rt: Runtime, name: str) -> None:
    """404 ``namespace_not_found`` unless ``name`` exists and is active."""
    if not rt.namespace_exists(name):
        raise ApiError(
            404,
            "namespace_not_found",
            f"Namespace '{name}' was not found.",
            namespace=name,
            remediation="Create the namespace first or send an existing one in X-Namespace.",
        )


_JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]*\+)?json$")


async def read_json_body(request: Request, limit: int) -> dict[str, Any]:
    """Parse the body as a JSON object (empty body → ``{}``), enforcing type and size rules."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise ApiError(413, "payload_too_large", f"Request body exceeds {limit} bytes.", limit=limit)
    raw = await request.body()
    if len(raw) > limit:
        raise ApiError(413, "payload_too_large", f"Request body exceeds {limit} bytes.", limit=limit)
    if not raw.strip():
        return {}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and not _JSON_TYPE.match(ctype):
        raise ApiError(
            415,
            "unsupported_media_type",
            "Request bodies must be JSON.",
            accepted_content_types=["application/json"],
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            400, "malformed_json", "Request body is not valid JSON.", json_error=str(exc)
        ) from None
    if data == []:
        return {}
    if not isinstance(data, dict):
        raise validation_error({"body": ["The request body must be a JSON object."]})
    return data


_UNDECODABLE_PARAMS = "dw_undecodable_path_params"


_ROUTE_PATH = "dw_route_path"
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _decoded_route_path(scope: Scope) -> str:
    """``scope["path"]`` without the mount prefix (``root_path``), as Starlette's router sees it."""
    path = str(scope["path"])
    root = str(scope.get("root_path", "") or "")
    if root and path.startswith(root) and (path == root or path[len(root)] == "/"):
        return path[len(root) :]
    return path


def raw_route_path(scope: Scope) -> str:
    """The request path as sent, still percent-encoded (``%2F`` stays inside its segment).

    Computed once per request (cached in the scope next to the decoded path it belongs to). When
    the decoded path no longer matches what was sent (the router probing a trailing-slash
    redirect, or a server without ``raw_path``), the decoded path is re-encoded instead.
    """
    path = _decoded_route_path(scope)
    cached = scope.get(_ROUTE_PATH)
    if cached is not None and cached[0] == path:
        return str(cached[1])
    route_path: str | None = None
    raw = scope.get("raw_path")
    if raw:
        text = raw.decode("latin-1") if isinstance(raw, (bytes, bytearray)) else str(raw)
        text = text.split("?", 1)[0]
        root = str(scope.get("root_path", "") or "")
        if root and text.startswith(root) and text != root:
            text = text[len(root) :]
        if unquote(text) == path:
            route_path = text
    if route_path is None:
        route_path = quote(path, safe=_PATH_SAFE)
    scope[_ROUTE_PATH] = (path, route_path)
    return route_path


class EncodedPathRoute(Route):
    """A route matched on the raw path, each path parameter decoded after the match.

    Starlette matches on the decoded path, so an id containing ``%2F`` would be split into two
    segments and miss its route; matching the encoded form keeps every segment whole.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        match = self.path_regex.match(raw_route_path(scope))
        if not match:
            return Match.NONE, {}
        params: dict[str, Any] = dict(scope.get("path_params", {}))
        undecodable: list[str] = []
        for key, value in match.groupdict().items():
            try:
                decoded = unquote(value, errors="strict")
            except UnicodeDecodeError:
                undecodable.append(key)
                decoded = value
            params[key] = self.param_convertors[key].convert(decoded)
        child_scope: dict[str, Any] = {"endpoint": self.endpoint, "path_params": params}
        if undecodable:
            child_scope[_UNDECODABLE_PARAMS] = undecodable
        if self.methods and scope["method"] not in self.methods:
            return Match.PARTIAL, child_scope
        return Match.FULL, child_scope


class RouteTable:
    """Collects the routes of one module; ``routes`` is what the app mounts."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        path: str,
        methods: Iterable[str],
        *,
        plane: Plane = "control",
        roles: Iterable[str] = OPERATOR_ROLES,
        check_namespace: bool = True,
        operation: str | None = None,
        operation_name_field: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register ``handler`` for ``path``.

        ``plane`` picks the version header rule (``control``: control-plane v2 header;
        ``worker``: worker protocol header and envelope; ``discovery``: auth only; ``open``: no
        auth). ``operation`` attaches the ``control_plane`` block (control-plane.md §5).
        """
        allowed = tuple(roles)

        def decorate(handler: Handler) -> Handler:
            endpoint = _endpoint(handler, plane, allowed, check_namespace, operation, operation_name_field)
            self.routes.append(EncodedPathRoute(path, endpoint, methods=list(methods)))
            return handler

        return decorate

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        """Register a GET route."""
        return self.add(path, ["GET"], **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        """Register a POST route."""
        return self.add(path, ["POST"], **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        """Register a PUT route."""
        return self.add(path, ["PUT"], **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        """Register a DELETE route."""
        return self.add(path, ["DELETE"], **kw)


def _endpoint(
    handler: Handler,
    plane: Plane,
    roles: tuple[str, ...],
    check_namespace: bool,
    operation: str | None,
    operation_name_field: str | None,
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        rt: Runtime = request.app.state.runtime
        path = {k: str(v) for k, v in request.path_params.items()}
        status = 200
        body: dict[str, Any]
        try:
            undecodable = request.scope.get(_UNDECODABLE_PARAMS)
            if undecodable:
                raise ApiError(
                    400,
                    "invalid_path_encoding",
                    f"Path parameter {undecodable[0]!r} is not percent-encoded UTF-8; "
                    "percent-encode the UTF-8 bytes of each path segment.",
                    parameters=list(undecodable),
                )
            payload = await read_json_body(request, rt.config.max_payload_bytes)
            role = "admin"
            if plane != "open":
                role, full = authenticate(rt, request)
                if not full and role not in roles:
                    raise ApiError(
                        403,
                        "forbidden",
                        f"Role '{role}' may not call this route.",
                        role=role,
                        allowed_roles=list(roles),
                    )
            _check_version_header(plane, request, rt)
            namespace = resolve_namespace(rt, request)
            if check_namespace and plane in ("control", "worker"):
                require_namespace(rt, namespace)
            ctx = Ctx(request=request, rt=rt, body=payload, namespace=namespace, role=role, path=path)
            reply = await handler(ctx)
            if isinstance(reply, tuple):
                status, body = reply
            else:
                body = reply
        except ApiError as err:
            status, body = err.status, err.body()
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.url.path)
            status, body = 500, {"message": "Internal server error.", "reason": "server_error"}
        headers: dict[str, str] = {}
        if plane == "control":
            headers[protocol.CONTROL_PLANE_HEADER] = protocol.CONTROL_PLANE_VERSION
            if operation is not None:
                body["control_plane"] = protocol.control_plane_block(
                    operation, body, path, operation_name_field
                )
        elif plane == "worker":
            headers[protocol.WORKER_PROTOCOL_HEADER] = rt.config.worker_protocol_version
            body.setdefault("protocol_version", rt.config.worker_protocol_version)
            body.setdefault("server_capabilities", rt.server_capabilities)
        return json_response(status, body, headers)

    endpoint.__name__ = getattr(handler, "__name__", "endpoint")
    return endpoint
