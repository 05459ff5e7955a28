"""Wire compatibility with the published SDK 0.4.84, run in its own venv as a peer.

Both SDKs encode the same generated values; the blobs must be byte-identical, and each must
decode the other's blobs to the same value.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dw_core import serializer

pytestmark = pytest.mark.reference_sdk

REPO = Path(__file__).resolve().parents[3]

PEER_SCRIPT = r"""
import json, sys
from durable_workflow import serializer
request = json.load(sys.stdin)
out = {
    "avro": [serializer.encode(v, "avro") for v in request["values"]],
    "json": [serializer.encode(v, "json") for v in request["values"]],
    "decoded": [serializer.decode(b, "avro") for b in request["our_blobs"]],
    "envelopes": [serializer.decode_envelope(e) for e in request["our_envelopes"]],
}
json.dump(out, sys.stdout, ensure_ascii=False)
"""


def reference_python() -> str:
    python = REPO / ".venv-ref" / "bin" / "python"
    if python.exists():
        return str(python)
    done = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=REPO, capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(f"could not create the reference SDK venv:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


ALPHABET = "aZ09 /\\\"'\n\t\u00fc\u00e9\u4e2d\U0001f600\u2028\x00\x1f<>&"


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 7, 2**31, -(2**63), 10**30, rng.randrange(-(10**6), 10**6)])
    if kind == 3:
        return rng.choice([0.0, -0.0, 1.0, 1.5, 1e-7, 1e300, -2.5e-300, rng.uniform(-1e6, 1e6)])
    if kind in (4, 5):
        return "".join(rng.choice(ALPHABET) for _ in range(rng.choice([0, 1, 5, 40, 70, 200])))
    if kind in (6, 7):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {
        "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(6))): random_value(rng, depth + 1)
        for _ in range(rng.randrange(5))
    }


def test_blobs_are_byte_identical_with_0_4_84_and_cross_decode() -> None:
    rng = random.Random(20260101)
    values = [random_value(rng) for _ in range(400)] + ["x" * 100_000, {"k": "ü" * 5000}]
    our_avro = [serializer.encode(v) for v in values]
    our_envelopes = [serializer.envelope(v, codec) for v in values[:50] for codec in ("avro", "json")]
    request = json.dumps({"values": values, "our_blobs": our_avro, "our_envelopes": our_envelopes})
    done = subprocess.run(
        [reference_python(), "-c", PEER_SCRIPT],
        input=request,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd="/",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    peer = json.loads(done.stdout)
    for value, ours, theirs in zip(values, our_avro, peer["avro"], strict=True):
        assert ours == theirs, f"avro blob differs for {value!r}"
    assert [serializer.encode(v, "json") for v in values] == peer["json"]
    assert peer["decoded"] == values
    assert [serializer.decode(b, "avro") for b in peer["avro"]] == values
    assert peer["envelopes"] == [v for v in values[:50] for _ in range(2)]
