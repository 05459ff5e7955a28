"""A reusable test suite for external-storage drivers and the plugins that register them.

Subclass :class:`ExternalStorageDriverContract` in a pytest module, set the class attributes that
describe the store and override the ``store`` fixture to return an :class:`ObjectStoreFixture`
backed by a real store or emulator; every ``test_*`` method then runs against the driver. The suite
checks what every driver owes the SDK: digest-keyed idempotent writes with ``sha256``/``codec``
metadata, integrity failures on changed objects, refusal of untrusted URIs before any request,
unsafe prefix/codec/location refusal, policy resolution and client offload through the dev server.
:class:`StoragePluginContract` checks the plugin side (entry point, driver names, CLI listing).

Needs pytest (``pip install "dw-testing[pytest]"``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pathlib
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar

import pytest
from dw_core.external_storage import (
    ExternalPayloadCache,
    ExternalPayloadIntegrityError,
    ExternalPayloadStoragePolicy,
    ExternalStorageDriver,
    delete_external_payload,
    external_storage_driver_from_policy,
    fetch_external_payload,
    store_external_payload,
)
from dw_core.plugins import create_plugin_manager, external_storage_driver, get_plugin_manager

__all__ = [
    "CONTRACT_PAYLOAD",
    "BundledStoragePluginContract",
    "ExternalStorageDriverContract",
    "ObjectStoreFixture",
    "StoragePluginContract",
    "StoredObject",
]

#: What the contract stores: large enough to be offloaded, distinctive enough to spot.
CONTRACT_PAYLOAD = b'"a large encoded payload"' * 200
_RECORDED_POLICY = ("control-plane", "namespace-set-storage-driver-parity.json")
_ORDER = {"order_id": "o-1", "lines": [{"sku": f"sku-{i}", "note": "x" * 40} for i in range(60)]}


@dataclass(frozen=True)
class StoredObject:
    """What the store itself reports about one object (not what the driver says)."""

    size: int
    content_type: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)


class ObjectStoreFixture(ABC):
    """One empty location (bucket, container) in a real store, driven beside the driver under test.

    The contract writes through the driver and checks through these raw calls, and uses
    :meth:`write` to tamper with stored objects. ``location`` is the bucket or container name;
    ``client`` the application-owned client the driver is given. Set ``client_option`` (the option
    that hands ``client`` to ``external_storage_driver_from_policy``) and, when the driver names them
    otherwise, ``location_attribute`` and ``client_attribute`` (where the driver keeps them).
    """

    client_option: ClassVar[str]
    location_attribute: ClassVar[str] = "bucket"
    client_attribute: ClassVar[str] = "client"

    def __init__(self, *, location: str, client: Any) -> None:
        self.location = location
        self.client = client

    def policy_options(self) -> Mapping[str, Any]:
        """The keyword arguments that hand the client to ``external_storage_driver_from_policy``."""
        return {self.client_option: self.client}

    def driver_settings(self, driver: Any) -> tuple[str, str, Any]:
        """``(location, normalized prefix, client)`` as the driver holds them."""
        return (
            getattr(driver, self.location_attribute),
            driver.prefix,
            getattr(driver, self.client_attribute),
        )

    @abstractmethod
    def driver(self, *, prefix: str = "", location: str | None = None) -> ExternalStorageDriver:
        """A driver for ``location`` (default: this fixture's) with the given key prefix."""

    @abstractmethod
    def create_location(self, name: str) -> None:
        """Create another, empty location named ``name``."""

    @abstractmethod
    def write(self, key: str, data: bytes, *, location: str | None = None) -> None:
        """Store ``data`` at ``key`` directly, replacing what is there (how the contract tampers)."""

    @abstractmethod
    def replace(self, key: str, data: bytes, content_type: str | None, metadata: Mapping[str, str]) -> None:
        """Store ``data`` at ``key`` with exactly this content type and metadata."""

    @abstractmethod
    def read(self, key: str, *, location: str | None = None) -> bytes:
        """The bytes stored at ``key``, read directly."""

    @abstractmethod
    def stat(self, key: str) -> StoredObject:
        """The stored object's size, content type and metadata; ``missing_object_error`` if absent."""

    @abstractmethod
    def keys(self) -> list[str]:
        """Every key in this fixture's location, sorted."""


class ExternalStorageDriverContract:
    """The behaviour every external-storage driver owes the SDK, as pytest test methods.

    Set ``scheme`` (``"s3"``), ``driver_name`` (the policy's ``driver``) and ``driver_aliases``
    (other names of the same driver), ``location_kind`` (``"bucket"``/``"container"``),
    ``policy_location_key`` (the policy ``config`` key naming it), ``invalid_location_names``,
    ``foreign_uris`` (URIs of other drivers, ``{location}`` is filled in) and
    ``missing_object_error`` (what :meth:`ObjectStoreFixture.stat` raises for a missing object);
    optionally ``recorded_fixtures`` (a folder holding the recorded ``control-plane`` fixtures) to
    build the policy test from the server's recorded response. The server only accepts the drivers
    it knows (``local``, ``s3``, ``gcs``, ``azure``) in a namespace policy; for any other set
    ``server_accepts_driver = False`` and the offload test hands the driver to the client directly.
    Override the ``store`` fixture.
    """

    scheme: ClassVar[str]
    driver_name: ClassVar[str]
    driver_aliases: ClassVar[Sequence[str]] = ()
    location_kind: ClassVar[str] = "bucket"
    policy_location_key: ClassVar[str] = "bucket"
    invalid_location_names: ClassVar[Sequence[str]] = ("", "b1/path", "has space")
    foreign_uris: ClassVar[Sequence[str]] = ("file:///{location}/tenant/x",)
    missing_object_error: ClassVar[type[BaseException]] = FileNotFoundError
    recorded_fixtures: ClassVar[pathlib.Path | None] = None
    server_accepts_driver: ClassVar[bool] = True

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """One test per invalid location name and per driver name, from the class attributes."""
        if "invalid_location_name" in metafunc.fixturenames:
            metafunc.parametrize("invalid_location_name", list(self.invalid_location_names))
        if "policy_driver_name" in metafunc.fixturenames:
            metafunc.parametrize("policy_driver_name", [self.driver_name, *self.driver_aliases])

    @pytest.fixture
    def store(self) -> ObjectStoreFixture:
        """Override: an :class:`ObjectStoreFixture` on a fresh, empty location."""
        raise NotImplementedError(f"{type(self).__name__} must override the 'store' fixture")

    @pytest.fixture
    def driver(self, store: ObjectStoreFixture) -> ExternalStorageDriver:
        """A driver for ``store``'s location, no prefix."""
        return store.driver()

    def _uri(self, location: str, key: str) -> str:
        return f"{self.scheme}://{location}/{key}"

    def test_round_trip_stores_digest_keyed_object_with_metadata(self, store: ObjectStoreFixture) -> None:
        driver = store.driver(prefix="/billing/payloads/")
        assert isinstance(driver, ExternalStorageDriver)
        assert store.driver_settings(driver) == (store.location, "billing/payloads", store.client)

        ref = store_external_payload(driver, CONTRACT_PAYLOAD, codec="avro")

        sha = hashlib.sha256(CONTRACT_PAYLOAD).hexdigest()
        key = f"billing/payloads/avro/{sha[:2]}/{sha}"
        assert ref.uri == self._uri(store.location, key)
        assert (ref.sha256, ref.size_bytes, ref.codec) == (sha, len(CONTRACT_PAYLOAD), "avro")
        stored = store.stat(key)
        assert stored.content_type == "application/octet-stream"
        assert dict(stored.metadata) == {"sha256": sha, "codec": "avro"}
        assert stored.size == len(CONTRACT_PAYLOAD)

        assert fetch_external_payload(driver, ref) == CONTRACT_PAYLOAD
        assert fetch_external_payload(driver, ref.to_dict()) == CONTRACT_PAYLOAD

        # Storing the same bytes again is idempotent: same URI, still one object.
        assert store_external_payload(driver, CONTRACT_PAYLOAD, codec="avro").uri == ref.uri
        assert store.keys() == [key]

        cache = ExternalPayloadCache()
        fetch_external_payload(driver, ref, cache=cache)
        assert ref in cache
        delete_external_payload(driver, ref, cache=cache)
        assert ref not in cache
        assert store.keys() == []
        with pytest.raises(self.missing_object_error):
            store.stat(key)
        with pytest.raises(FileNotFoundError, match="not found"):
            fetch_external_payload(driver, ref)
        delete_external_payload(driver, ref)  # already gone: not an error

    def test_tampered_object_fails_integrity_and_is_not_cached(
        self, store: ObjectStoreFixture, driver: ExternalStorageDriver
    ) -> None:
        ref = store_external_payload(driver, CONTRACT_PAYLOAD, codec="json")
        key = ref.uri.removeprefix(self._uri(store.location, ""))
        cache = ExternalPayloadCache()

        store.write(key, bytes([CONTRACT_PAYLOAD[0] ^ 1]) + CONTRACT_PAYLOAD[1:])
        with pytest.raises(ExternalPayloadIntegrityError, match="SHA-256"):
            fetch_external_payload(driver, ref, cache=cache)

        store.write(key, CONTRACT_PAYLOAD[:-1])
        with pytest.raises(ExternalPayloadIntegrityError, match="bytes but its reference says"):
            fetch_external_payload(driver, ref, cache=cache)
        assert len(cache) == 0

        # Restoring the object makes the same reference usable again.
        store.write(key, CONTRACT_PAYLOAD)
        assert fetch_external_payload(driver, ref, cache=cache) == CONTRACT_PAYLOAD

    def test_uris_outside_location_or_prefix_are_refused_before_any_request(
        self, store: ObjectStoreFixture
    ) -> None:
        here, other = store.location, f"{store.location}-other"
        store.create_location(other)
        store.write("tenant/secret", b"not yours", location=other)
        store.write("elsewhere/secret", b"not yours")
        driver = store.driver(prefix="tenant")

        refused = {
            self._uri(other, "tenant/secret"): f"targets {self.location_kind}",
            self._uri(here, "elsewhere/secret"): "outside the configured prefix",
            self._uri(here, "tenant/../elsewhere/secret"): "unsafe object key",
            self._uri(here, "tenant//secret"): "unsafe object key",
            self._uri(here, "tenant/./x"): "unsafe object key",
            self._uri(here, "tenant/a\nb"): "unsafe object key",
            self._uri(here, "tenant/a\rb"): "unsafe object key",
            self._uri(here, "tenant/a\x00b"): "unsafe object key",
            self._uri(here, ""): "unsafe object key",
        }
        for foreign in self.foreign_uris:
            refused[foreign.format(location=here)] = f"only reads {self.scheme}:// URIs"
        for uri, message in refused.items():
            with pytest.raises(ValueError, match=message):
                driver.get(uri)
            with pytest.raises(ValueError, match=message):
                driver.delete(uri)
        # Nothing was deleted by the refused calls.
        assert store.read("tenant/secret", location=other) == b"not yours"
        assert store.read("elsewhere/secret") == b"not yours"

    @pytest.mark.parametrize("prefix", ["a/../b", "..", "a//b", "./a"])
    def test_unsafe_prefix_is_refused(self, store: ObjectStoreFixture, prefix: str) -> None:
        with pytest.raises(ValueError, match="unsafe storage prefix"):
            store.driver(prefix=prefix)

    def test_location_must_be_a_bare_name(
        self, store: ObjectStoreFixture, invalid_location_name: str
    ) -> None:
        with pytest.raises(ValueError, match=f"{self.location_kind} name"):
            store.driver(location=invalid_location_name)

    @pytest.mark.parametrize("codec", ["../avro", "a/b", ".."])
    def test_unsafe_codec_is_refused_without_writing(
        self, store: ObjectStoreFixture, driver: ExternalStorageDriver, codec: str
    ) -> None:
        with pytest.raises(ValueError, match="unsafe codec"):
            store_external_payload(driver, CONTRACT_PAYLOAD, codec=codec)
        assert store.keys() == []

    def _server_policy(self, location: str, driver_name: str) -> dict[str, Any]:
        if self.recorded_fixtures is None:
            # The shape of the server's namespace response when no recording is at hand.
            policy: dict[str, Any] = {
                "driver": self.driver_name,
                "enabled": True,
                "threshold_bytes": 2097152,
                "config": {"bucket": "dw-payloads", "prefix": "billing/"},
            }
        else:
            recorded = json.loads(self.recorded_fixtures.joinpath(*_RECORDED_POLICY).read_text())
            policy = dict(recorded["response_body"]["external_payload_storage"])
            assert policy["config"]["bucket"] == "dw-payloads"
        # The recorded policy names the bucket dw-payloads; point it at this test's location.
        policy["driver"] = driver_name
        policy["config"] = {**policy["config"], self.policy_location_key: location}
        return policy

    def test_policy_as_the_server_sends_it_builds_a_working_driver(
        self, store: ObjectStoreFixture, policy_driver_name: str
    ) -> None:
        policy = self._server_policy(store.location, policy_driver_name)

        driver = external_storage_driver_from_policy(
            {"external_payload_storage": policy}, **store.policy_options()
        )

        assert store.driver_settings(driver) == (store.location, "billing", store.client)
        ref = store_external_payload(driver, b"payload", codec="avro")
        sha = hashlib.sha256(b"payload").hexdigest()
        assert ref.uri == self._uri(store.location, f"billing/avro/{sha[:2]}/{sha}")
        assert fetch_external_payload(driver, ref) == b"payload"

    async def _offload_driver(
        self, server_url: str, store: ObjectStoreFixture
    ) -> tuple[ExternalStorageDriver, int | None]:
        from dw_client import Client

        if not self.server_accepts_driver:
            return store.driver(prefix="tenants/default/"), 1024
        async with Client(server_url) as admin:
            described = await admin.set_namespace_external_storage(
                "default",
                driver=self.driver_name,
                threshold_bytes=1024,
                # The server's policy config has no "container" key; a container travels as "bucket".
                config={"bucket": store.location, "prefix": "tenants/default/"},
            )
        policy = described.external_payload_storage
        assert policy is not None
        driver = external_storage_driver_from_policy(policy, **store.policy_options())
        assert store.driver_settings(driver)[:2] == (store.location, "tenants/default")
        return driver, policy.threshold_bytes

    async def test_large_workflow_input_goes_to_the_store_and_comes_back_verified(
        self, store: ObjectStoreFixture
    ) -> None:
        # A user's path end to end: namespace policy on the dev server -> driver -> client offload.
        import httpx
        from dw_client import Client
        from dw_devserver import DevServer

        async with DevServer.start() as server:
            driver, threshold = await self._offload_driver(server.url, store)

            async with Client(
                server.url, external_storage=driver, external_storage_threshold_bytes=threshold
            ) as client:
                await client.start_workflow(
                    workflow_type="orders.process", task_queue="orders", workflow_id="wf-big", input=[_ORDER]
                )
                await client.start_workflow(
                    workflow_type="orders.process",
                    task_queue="orders",
                    workflow_id="wf-small",
                    input=["tiny"],
                )

                # On the wire the server holds only a reference to the stored object.
                async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as raw_http:
                    raw = await raw_http.get(
                        "/api/workflows/wf-big", headers={"X-Durable-Workflow-Control-Plane-Version": "2"}
                    )
                raw.raise_for_status()
                reference = raw.json()["input_envelope"]["external_storage"]
                assert reference["uri"].startswith(self._uri(store.location, "tenants/default/avro/"))
                key = reference["uri"].removeprefix(self._uri(store.location, ""))
                assert store.keys() == [key]  # the small input stayed inline
                assert store.stat(key).size == reference["size_bytes"]

                assert (await client.describe_workflow("wf-big")).input == [_ORDER]
                assert (await client.describe_workflow("wf-small")).input == ["tiny"]

                # A changed object is caught on read, not handed to the application.
                assert client.external_storage_cache is not None  # the client always keeps one
                client.external_storage_cache.clear()
                body = store.read(key)
                store.write(key, bytes([body[0] ^ 1]) + body[1:])
                with pytest.raises(ExternalPayloadIntegrityError):
                    await client.describe_workflow("wf-big")


def _cli() -> list[str]:
    script = pathlib.Path(sys.executable).parent / "durable-workflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dw_core.cli"]


class StoragePluginContract:
    """What a storage-driver plugin distribution owes: entry point, names, policy resolution, CLI.

    Set ``distribution`` (``"dw-storage-s3"``, also the entry-point name), ``plugin_module`` (its
    import path), ``driver_names``, ``driver_class``, ``client_option`` (the option key of the client),
    ``missing_client_message`` (a regex the error for a missing client matches), ``install_hint``
    (a regex naming what to install when the plugin is absent), ``resolvable_policies`` (policies
    resolving to ``expected_location`` with an empty prefix) and ``unusable_policies`` (policy,
    message regex). Override the ``plugin_client`` fixture when a bare ``object()`` is not enough.
    """

    distribution: ClassVar[str]
    plugin_module: ClassVar[str]
    driver_names: ClassVar[Sequence[str]]
    driver_class: ClassVar[type]
    client_option: ClassVar[str]
    missing_client_message: ClassVar[str]
    install_hint: ClassVar[str]
    expected_location: ClassVar[str] = "dw-payloads"
    location_attribute: ClassVar[str] = "bucket"
    resolvable_policies: ClassVar[Sequence[Mapping[str, Any]]] = ()
    unusable_policies: ClassVar[Sequence[tuple[Mapping[str, Any], str]]] = ()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrize the policy tests with this plugin's cases, one test each."""
        if "resolvable_policy" in metafunc.fixturenames:
            metafunc.parametrize("resolvable_policy", list(self.resolvable_policies), ids=repr)
        if "unusable_policy" in metafunc.fixturenames:
            metafunc.parametrize("unusable_policy", list(self.unusable_policies), ids=repr)

    @pytest.fixture
    def plugin_client(self) -> Any:
        """The client handed to the driver where no request is made (duck-typed drivers take anything)."""
        return object()

    def _module(self) -> ModuleType:
        return importlib.import_module(self.plugin_module)

    def _location_policy(self) -> dict[str, Any]:
        return {"driver": self.driver_names[0], "config": {self.location_attribute: "b1"}}

    def test_resolvable_policy(self, plugin_client: Any, resolvable_policy: Mapping[str, Any]) -> None:
        driver = external_storage_driver_from_policy(resolvable_policy, **{self.client_option: plugin_client})
        assert isinstance(driver, self.driver_class)
        assert getattr(driver, self.location_attribute) == self.expected_location
        assert getattr(driver, "prefix", "") == ""

    def test_unusable_policy_is_a_clear_value_error(
        self, plugin_client: Any, unusable_policy: tuple[Mapping[str, Any], str]
    ) -> None:
        policy, message = unusable_policy
        with pytest.raises(ValueError, match=message):
            external_storage_driver_from_policy(policy, **{self.client_option: plugin_client})

    def test_missing_client_names_the_keyword_to_pass(self) -> None:
        with pytest.raises(ValueError, match=self.missing_client_message):
            external_storage_driver_from_policy(self._location_policy())

    def test_driver_comes_from_the_entry_point_not_only_direct_registration(self, plugin_client: Any) -> None:
        policy = ExternalPayloadStoragePolicy.from_dict(self._location_policy())
        options = {self.client_option: plugin_client}
        with_entry_points = create_plugin_manager(load_entry_points=True)
        assert with_entry_points.get_plugin(self.distribution) is self._module()
        for name in self.driver_names:
            driver = external_storage_driver(
                name, policy=policy, options=options, plugin_manager=with_entry_points
            )
            assert isinstance(driver, self.driver_class)

        builtin_only = create_plugin_manager(load_entry_points=False)
        with pytest.raises(ValueError, match=self.install_hint):
            external_storage_driver(
                self.driver_names[0], policy=policy, options=options, plugin_manager=builtin_only
            )
        assert get_plugin_manager().get_plugin(self.distribution) is not None

    def test_cli_lists_the_plugin_with_distribution_and_version(self) -> None:
        done = subprocess.run([*_cli(), "plugins", "--json"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        plugins = {p["name"]: p for p in json.loads(done.stdout)["plugins"]}
        entry = plugins[self.distribution]
        assert entry["distribution"] == self.distribution
        package = importlib.import_module(self.plugin_module.rsplit(".", 1)[0])
        assert entry["version"] == package.__version__
        assert entry["builtin"] is False
        assert entry["provides"]["storage"] == list(self.driver_names)


class BundledStoragePluginContract(StoragePluginContract):
    """:class:`StoragePluginContract` plus the ``durable_workflow`` facade checks for bundled extras.

    Set ``extra`` (``"s3"``): the facade re-exports ``driver_class`` from
    ``durable_workflow.external_storage`` and, without the package, names ``durable-workflow[<extra>]``.
    """

    extra: ClassVar[str]

    def test_facade_reexports_the_class(self) -> None:
        facade = importlib.import_module("durable_workflow.external_storage")
        name = self.driver_class.__name__
        assert getattr(facade, name) is self.driver_class
        assert name in facade.__all__

    def test_facade_names_the_extra_when_the_package_is_missing(self) -> None:
        # Simulates an install without the extra: a None entry in sys.modules makes the import fail.
        package, name = self.plugin_module.rsplit(".", 1)[0], self.driver_class.__name__
        code = (
            f"import sys; sys.modules[{package!r}] = None\n"
            "import durable_workflow.external_storage as es\n"
            f"assert {name!r} not in es.__all__, es.__all__\n"
            "try:\n"
            f"    from durable_workflow.external_storage import {name}\n"
            "except ImportError as exc:\n"
            "    print(exc)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"pip install 'durable-workflow[{self.extra}]'" in done.stdout
