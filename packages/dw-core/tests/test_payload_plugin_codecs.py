"""Codecs other than avro/json come from plugins registered with the real plugin manager."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any

import pytest
from dw_core import serializer
from dw_core.payload_errors import PayloadDecodeError, PayloadEncodeError, UnsupportedPayloadCodecError
from dw_core.plugins import PluginNotFoundError, get_plugin_manager, hookimpl


class Rot13JsonCodec:
    """A toy third-party codec: JSON text, rot13-ed."""

    name = "rot13-json"

    def encode(self, value: Any) -> str:
        return codecs.encode(json.dumps(value), "rot13")

    def decode(self, blob: str) -> Any:
        return json.loads(codecs.decode(blob, "rot13"))


class BrokenCodec:
    name = "broken"

    def encode(self, value: Any) -> Any:
        return b"not text"

    def decode(self, blob: str) -> Any:
        raise KeyError(blob)


class CodecPlugin:
    @hookimpl
    def dw_payload_codec_names(self) -> list[str]:
        return ["rot13-json", "broken"]

    @hookimpl
    def dw_payload_codec(self, name: str) -> Any:
        return {"rot13-json": Rot13JsonCodec(), "broken": BrokenCodec()}.get(name)


@pytest.fixture
def codec_plugin() -> Iterator[None]:
    pm = get_plugin_manager()
    plugin = CodecPlugin()
    pm.register(plugin, name="test-codec-plugin")
    try:
        yield
    finally:
        pm.unregister(plugin)


def test_plugin_codec_round_trips_through_every_helper(codec_plugin: None) -> None:
    blob = serializer.encode({"a": 1}, "rot13-json")
    assert blob == '{"n": 1}'
    assert serializer.decode(blob, "rot13-json") == {"a": 1}
    env = serializer.envelope([1, "x"], "rot13-json")
    assert serializer.decode_envelope(env, "avro") == [1, "x"]
    assert serializer.decode_many(serializer.encode_many([1, 2], "rot13-json"), "rot13-json") == [1, 2]


def test_plugin_failures_become_typed_errors(codec_plugin: None) -> None:
    with pytest.raises(PayloadEncodeError, match="returned bytes, not blob text"):
        serializer.encode(1, "broken")
    with pytest.raises(PayloadDecodeError, match="failed to decode") as info:
        serializer.decode("x", "broken")
    assert isinstance(info.value.__cause__, KeyError)


def test_unknown_codec_without_plugin_is_unsupported() -> None:
    with pytest.raises(UnsupportedPayloadCodecError, match="no installed plugin provides it") as info:
        serializer.decode("x", "rot13-json")
    assert isinstance(info.value.__cause__, PluginNotFoundError)
    with pytest.raises(UnsupportedPayloadCodecError):
        serializer.encode_many([1], "rot13-json")


def test_importing_the_codec_loads_neither_plugins_nor_avro() -> None:
    import subprocess
    import sys

    code = (
        "import sys, dw_core.serializer, dw_core._avro; "
        "print(any(m.startswith(('pluggy', 'dw_core.plugins', 'avro')) for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
