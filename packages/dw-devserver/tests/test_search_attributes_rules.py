"""Pure search-attribute rules: names, types, typed values and the list filter."""

from __future__ import annotations

from typing import Any

import pytest
from dw_devserver.control.search_attributes import (
    filter_runs,
    name_problem,
    parse_filter_query,
    type_problem,
    validate_values,
    value_problem,
)


@pytest.mark.parametrize("name", ["OrderStatus", "a", "x_1", "A" * 128])
def test_valid_names(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["", "1abc", "_x", "has-dash", "has space", "A" * 129, None, 5])
def test_invalid_names_explain_the_rule(name: object) -> None:
    assert name_problem(name)


def test_types_are_the_seven_wire_values() -> None:
    for t in ("keyword", "text", "int", "double", "bool", "datetime", "keyword_list"):
        assert type_problem(t) is None
    assert type_problem("integer") and type_problem("Keyword") and type_problem(None)


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("keyword", "gold", 3),
        ("int", 3, 3.5),
        ("int", -1, True),
        ("double", 2.5, "2.5"),
        ("bool", False, 0),
        ("datetime", "2026-04-22T05:00:00Z", "2026-04-22T05:00:00"),
        ("keyword_list", ["a", "b"], ["a", 1]),
        ("text", "x" * 2048, "x" * 2049),
    ],
)
def test_values_are_checked_against_their_type(kind: str, good: object, bad: object) -> None:
    assert value_problem(kind, good) is None
    assert value_problem(kind, bad)
    assert value_problem(kind, None) is None


def test_validate_values_reports_each_mismatch_by_path() -> None:
    errors = validate_values({"Priority": "high", "Tier": "gold", "StartTime": 4}, {"Priority": "int"})
    assert set(errors) == {"search_attributes.Priority", "search_attributes.StartTime"}


def test_filter_query_parsing() -> None:
    assert parse_filter_query('CustomerId="42"') == {"CustomerId": "42"}
    assert parse_filter_query("Priority=3 and Vip=true") == {"Priority": 3, "Vip": True}
    assert parse_filter_query('Tier=\'gold\' AND Note="a \\"b\\""') == {"Tier": "gold", "Note": 'a "b"'}
    assert parse_filter_query("order-42") is None
    assert parse_filter_query("Priority > 3") is None


def test_filter_runs_matches_every_pair_and_list_membership() -> None:
    runs: list[dict[str, Any]] = [
        {"workflow_id": "a", "search_attributes": {"Tier": "gold", "Tags": ["x", "y"]}},
        {"workflow_id": "b", "search_attributes": {"Tier": "silver"}},
        {"workflow_id": "c", "search_attributes": []},  # PHP-style empty map
    ]
    assert [r["workflow_id"] for r in filter_runs(runs, {"Tier": "gold"})] == ["a"]
    assert [r["workflow_id"] for r in filter_runs(runs, {"Tags": "y", "Tier": "gold"})] == ["a"]
    assert filter_runs(runs, {"Tier": "bronze"}) == []


def test_list_filter_is_a_predicate_or_none_for_plain_text() -> None:
    from dw_devserver.routes.search_attributes import list_filter

    predicate = list_filter('Vip=true AND Tags="b"')
    assert predicate is not None
    assert predicate({"Vip": True, "Tags": ["a", "b"]})
    assert not predicate({"Vip": False, "Tags": ["a", "b"]})
    assert not predicate(None)
    assert list_filter("order-42") is None and list_filter("") is None
