"""to_avro_payload_value: each row of codec.md §5, and what then lands on the wire."""

from __future__ import annotations

import enum
import sys
from collections import OrderedDict, UserDict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs
import pydantic
import pytest
from dw_core import serializer
from dw_core.payload_errors import PayloadNotJsonSafeError
from pydantic import v1 as pydantic_v1

to_value = serializer.to_avro_payload_value


class Color(enum.Enum):
    RED = "red"
    NESTED = (1, "x")


class Priority(enum.IntEnum):
    HIGH = 3


class Mode(str, enum.Enum):
    FAST = "fast"


@dataclass
class Line:
    sku: str
    qty: int
    added: date


@dataclass
class Order:
    order_id: UUID
    total: Decimal
    lines: list[Line] = field(default_factory=list)
    color: Color = Color.RED


class CustomerV2(pydantic.BaseModel):
    name: str
    since: datetime
    tags: tuple[str, ...] = ()


class CustomerV1(pydantic_v1.BaseModel):
    name: str
    score: float


@attrs.define
class Shipment:
    carrier: str
    eta: time
    priority: Priority


def test_scalars_unchanged() -> None:
    for value in (None, "s", 1, 1.5, True, False):
        assert to_value(value) is value


def test_enums_become_their_values_recursively() -> None:
    assert to_value(Color.RED) == "red"
    assert to_value(Color.NESTED) == [1, "x"]
    assert to_value(Priority.HIGH) == 3 and type(to_value(Priority.HIGH)) is int
    assert to_value(Mode.FAST) == "fast" and type(to_value(Mode.FAST)) is str


@pytest.mark.skipif(sys.version_info < (3, 11), reason="enum.StrEnum is new in Python 3.11")
def test_str_enum() -> None:
    class Level(enum.StrEnum):  # type: ignore[name-defined,misc,unused-ignore]
        LOW = "low"

    assert to_value(Level.LOW) == "low"


def test_datetimes_become_iso_strings() -> None:
    assert to_value(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05"
    assert to_value(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2026-01-02T03:04:05+00:00"
    assert (
        to_value(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))))
        == "2026-01-02T03:04:05+02:00"
    )
    assert to_value(date(2026, 1, 2)) == "2026-01-02"
    assert to_value(time(3, 4, 5, 6)) == "03:04:05.000006"


def test_uuid_and_decimal_become_strings() -> None:
    uid = UUID("12345678-1234-5678-1234-567812345678")
    assert to_value(uid) == "12345678-1234-5678-1234-567812345678"
    assert to_value(Decimal("10.50")) == "10.50"


def test_mappings() -> None:
    assert to_value(OrderedDict([("b", Decimal("1")), ("a", [date(2026, 1, 1)])])) == {
        "b": "1",
        "a": ["2026-01-01"],
    }
    assert to_value(UserDict({"k": Color.RED})) == {"k": "red"}
    assert to_value({Mode.FAST: 1}) == {"fast": 1}
    with pytest.raises(TypeError, match="string keys"):
        to_value({1: "a"})


def test_dataclasses_in_field_order() -> None:
    uid = UUID(int=1)
    order = Order(uid, Decimal("9.99"), [Line("A", 2, date(2026, 3, 1))])
    converted = to_value(order)
    assert converted == {
        "order_id": str(uid),
        "total": "9.99",
        "lines": [{"sku": "A", "qty": 2, "added": "2026-03-01"}],
        "color": "red",
    }
    assert list(converted) == ["order_id", "total", "lines", "color"]


def test_pydantic_v2_model() -> None:
    customer = CustomerV2(name="Ada", since=datetime(2026, 1, 1, tzinfo=timezone.utc), tags=("a",))
    assert to_value(customer) == {"name": "Ada", "since": "2026-01-01T00:00:00Z", "tags": ["a"]}


def test_pydantic_v1_model() -> None:
    assert to_value(CustomerV1(name="Ada", score=1.5)) == {"name": "Ada", "score": 1.5}


def test_attrs_instance() -> None:
    shipment = Shipment("ups", time(9, 30), Priority.HIGH)
    assert to_value(shipment) == {"carrier": "ups", "eta": "09:30:00", "priority": 3}


def test_sequences_become_lists() -> None:
    assert to_value((1, (2, Decimal("3")))) == [1, [2, "3"]]
    assert to_value(range(3)) == [0, 1, 2]


@pytest.mark.parametrize("value", [b"x", bytearray(b"x"), {1, 2}, frozenset(), object(), 1j, Line])
def test_anything_else_is_refused(value: Any) -> None:
    with pytest.raises(TypeError, match="not Avro JSON payload safe") as info:
        to_value(value)
    assert isinstance(info.value, PayloadNotJsonSafeError)


def test_cycles_are_refused() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(PayloadNotJsonSafeError, match="cyclic"):
        to_value(cyclic)


def test_to_values_and_wire_result() -> None:
    values = serializer.to_avro_payload_values([Priority.HIGH, Line("B", 1, date(2026, 1, 1))])
    assert values == [3, {"sku": "B", "qty": 1, "added": "2026-01-01"}]
    # What lands on the wire is plain JSON; class identity does not survive.
    assert serializer.decode(serializer.encode(values), "avro") == values
