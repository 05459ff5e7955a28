"""Search attributes: ``/api/search-attributes`` (list, create, delete) per namespace.

Also the hooks other modules use: :func:`check_attribute_values` validates attribute values
against the namespace's declared types, :func:`list_filter` turns a visibility query such as
``CustomerTier="gold"`` into a predicate over a run's stored attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dw_devserver.control.search_attributes import (
    ATTRIBUTE_TYPES,
    DEFAULT_MAX_CUSTOM_ATTRIBUTES,
    SYSTEM_ATTRIBUTES,
    matches_filter,
    name_problem,
    parse_filter_query,
    validate_values,
)
from dw_devserver.http import OPERATOR_ROLES, ApiError, Ctx, Fields, RouteTable
from dw_devserver.store import Row

if TYPE_CHECKING:
    from dw_devserver.runtime import Runtime

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_attribute_definitions (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (namespace, name)
);
"""

table = RouteTable()
routes = table.routes


def custom_definitions(rt: Runtime, namespace: str) -> dict[str, str]:
    """The namespace's custom attributes, name → type, sorted by name."""
    rows = rt.store.all(
        "SELECT name, type FROM search_attribute_definitions WHERE namespace = ? ORDER BY name", (namespace,)
    )
    return {row["name"]: row["type"] for row in rows}


def check_attribute_values(
    rt: Runtime,
    namespace: str,
    values: Mapping[str, Any],
    *,
    check_names: bool = True,
    field: str = "search_attributes",
) -> dict[str, list[str]]:
    """Field errors for attribute values that break the key rule or their declared type (empty when fine).

    ``check_names=False`` skips the key rule (``upsert_search_attributes`` has its own, wider one).
    """
    errors: dict[str, list[str]] = {}
    if check_names:
        for name in values:
            problem = name_problem(name)
            if problem:
                errors.setdefault(f"{field}.{name}", []).append(problem)
    for key, messages in validate_values(values, custom_definitions(rt, namespace), field).items():
        errors.setdefault(key, []).extend(messages)
    return errors


def list_filter(query: str | None) -> Callable[[Mapping[str, Any] | None], bool] | None:
    """A predicate over a run's visible attributes for a visibility query, or None.

    The mapping it gets holds the run's ``search_attributes`` plus the system attributes
    (:func:`system_attribute_values`). None means the text is not of the ``Name=value [AND ...]``
    form and the caller should apply its plain substring match instead.
    """
    if not query:
        return None
    wanted = parse_filter_query(query)
    if wanted is None:
        return None
    return lambda attributes: matches_filter(attributes, wanted)


def system_attribute_values(run: Mapping[str, Any] | Row) -> dict[str, Any]:
    """The system search attributes of a run row (what a filter on ``WorkflowId`` etc. sees)."""
    return {
        "WorkflowId": run["workflow_id"],
        "WorkflowType": run["workflow_type"],
        "RunId": run["run_id"],
        "Status": run["status"],
        "TaskQueue": run["task_queue"],
        "BuildId": run["compatibility"],
    }


@table.get("/api/search-attributes", roles=OPERATOR_ROLES)
async def list_search_attributes(ctx: Ctx) -> dict[str, Any]:
    """System attributes (global) and this namespace's custom ones."""
    return {
        "system_attributes": dict(SYSTEM_ATTRIBUTES),
        "custom_attributes": custom_definitions(ctx.rt, ctx.namespace),
    }


@table.post("/api/search-attributes", roles=OPERATOR_ROLES)
async def create_search_attribute(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    """Declare a custom attribute ``{name, type}``."""
    fields = Fields(ctx.body)
    name = fields.string("name", required=True, max_len=128)
    attribute_type = fields.string("type", required=True, choices=ATTRIBUTE_TYPES)
    if name is not None:
        problem = name_problem(name)
        if problem:
            fields.fail("name", problem)
    fields.check()
    assert name is not None and attribute_type is not None
    if name in SYSTEM_ATTRIBUTES:
        raise ApiError(
            409, "name_reserved", f"'{name}' is a system search attribute; pick another name.", name=name
        )
    with ctx.rt.store.transaction() as tx:
        existing = tx.one(
            "SELECT type FROM search_attribute_definitions WHERE namespace = ? AND name = ?",
            (ctx.namespace, name),
        )
        if existing is not None:
            raise ApiError(
                409,
                "attribute_already_exists",
                f"Search attribute '{name}' already exists.",
                name=name,
                type=existing["type"],
            )
        count = tx.one(
            "SELECT COUNT(*) AS n FROM search_attribute_definitions WHERE namespace = ?", (ctx.namespace,)
        )
        limit = DEFAULT_MAX_CUSTOM_ATTRIBUTES
        if count is not None and count["n"] >= limit:
            raise ApiError(
                422,
                "search_attribute_limit_reached",
                f"The namespace already has {limit} custom search attributes; delete one first.",
                limit=limit,
            )
        tx.insert(
            "search_attribute_definitions",
            {
                "namespace": ctx.namespace,
                "name": name,
                "type": attribute_type,
                "created_at": ctx.rt.clock.now(),
            },
        )
    return 201, {"name": name, "type": attribute_type, "outcome": "created"}


@table.delete("/api/search-attributes/{name}", roles=OPERATOR_ROLES)
async def delete_search_attribute(ctx: Ctx) -> dict[str, Any]:
    """Remove a custom attribute definition (values already on runs stay as stored)."""
    name = ctx.path["name"]
    if name in SYSTEM_ATTRIBUTES:
        raise ApiError(
            409,
            "system_attribute",
            f"'{name}' is a system search attribute and cannot be deleted.",
            name=name,
        )
    with ctx.rt.store.transaction() as tx:
        deleted = tx.execute(
            "DELETE FROM search_attribute_definitions WHERE namespace = ? AND name = ?", (ctx.namespace, name)
        ).rowcount
    if not deleted:
        raise ApiError(404, "attribute_not_found", f"Search attribute '{name}' was not found.", name=name)
    return {"name": name, "outcome": "deleted"}
