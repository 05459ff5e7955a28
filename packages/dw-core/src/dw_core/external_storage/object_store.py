"""What every object-store driver (S3, GCS, Azure Blob, ...) shares: naming, URI checks, policy lookup.

A driver stores a payload at ``<scheme>://<container>/[<prefix>/]<codec>/<sha[:2]>/<sha>``, where the
container is a bucket or a blob container. A reference's URI comes from the wire, so it is untrusted:
:meth:`ObjectStoreLayout.key_from_uri` only honours it when it names the driver's container, stays
under its prefix and has no ``.``/``..``/empty or control-character key segments. Only what differs
between providers (the client calls, how a policy reference names the container) stays in a plugin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from dw_core.external_storage.driver import ExternalStorageDriver
from dw_core.external_storage.policy import ExternalPayloadStoragePolicy
from dw_core.plugins.hookspecs import hookimpl

__all__ = [
    "ObjectStoreDriverPlugin",
    "ObjectStoreLayout",
    "delete_ignoring_missing",
    "downloaded_bytes",
    "policy_error",
    "read_object_bytes",
]

# The drivers a wrong-scheme message may point to, in the order users meet them.
_KNOWN_DRIVERS: Final = ("local", "s3", "gcs", "azure")
_BARE_NAME: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,253}[A-Za-z0-9])?")
_CONTROL_CHARS: Final = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ObjectStoreLayout:
    """The URI scheme and container naming of one object store, with the checks built on them.

    ``provider`` names the store in messages (``"S3"``), ``container_kind`` what holds the objects
    (``"bucket"``, ``"container"``), ``name_hint`` the characters a bare container name uses and
    ``driver`` the driver name a wrong-scheme message leaves out of its list of alternatives.
    """

    scheme: str
    provider: str
    driver: str
    container_kind: str = "bucket"
    name_hint: str = "letters, digits, '.', '-', '_'"
    name_pattern: re.Pattern[str] = _BARE_NAME

    @property
    def uri_lead(self) -> str:
        """``<scheme>://``."""
        return f"{self.scheme}://"

    def check_container_name(self, name: object) -> str:
        """``name`` if it can be a bare container name (no ``/``, ``:``, spaces), else ``ValueError``."""
        if not isinstance(name, str) or not self.name_pattern.fullmatch(name):
            kind = self.container_kind
            raise ValueError(
                f"invalid {self.provider} {kind} name {name!r}: use the bare {kind} name ({self.name_hint}), "
                "not a URI or a path"
            )
        return name

    def object_uri(self, container: str, key: str) -> str:
        """``<scheme>://<container>/<key>``."""
        return f"{self.uri_lead}{container}/{key}"

    def key_from_uri(self, uri: object, *, container: str, prefix: str) -> str:
        """The object key of ``uri`` once it is checked to target ``container`` under ``prefix``."""
        if not isinstance(uri, str):
            raise ValueError(f"external payload URI must be a string, got {type(uri).__name__}")
        lead = self.uri_lead
        if not uri.startswith(lead):
            others = ", ".join(d for d in _KNOWN_DRIVERS if d != self.driver)
            raise ValueError(
                f"{self.provider} external storage only reads {lead} URIs, got {uri!r}; configure the driver "
                f"that wrote this payload ({others})"
            )
        uri_container, _, key = uri[len(lead) :].partition("/")
        if uri_container != container:
            kind = self.container_kind
            raise ValueError(
                f"external payload URI {uri!r} targets {kind} {uri_container!r}, but this driver is "
                f"configured for {kind} {container!r}"
            )
        if not key or _CONTROL_CHARS.search(key) or any(s in ("", ".", "..") for s in key.split("/")):
            raise ValueError(
                f"external payload URI {uri!r} has an unsafe object key: it must be non-empty, without "
                "control characters or empty, '.' or '..' segments"
            )
        if prefix and not key.startswith(prefix + "/"):
            raise ValueError(f"external payload URI {uri!r} is outside the configured prefix {prefix!r}")
        return key


def downloaded_bytes(data: object, *, uri: str, provider: str) -> bytes:
    """``data`` as ``bytes`` (copying a buffer); ``ValueError`` when a client handed back anything else."""
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if not isinstance(data, bytes):
        raise ValueError(f"{provider} download of {uri} returned {type(data).__name__}, expected bytes")
    return data


def read_object_bytes(
    uri: str, read: Callable[[], object], *, is_not_found: Callable[[BaseException], bool], provider: str
) -> bytes:
    """The bytes ``read()`` downloads for ``uri``; ``FileNotFoundError`` when ``is_not_found`` says so."""
    try:
        data = read()
    except Exception as exc:
        if is_not_found(exc):
            raise FileNotFoundError(f"external payload not found: {uri}") from exc
        raise
    return downloaded_bytes(data, uri=uri, provider=provider)


def delete_ignoring_missing(
    delete: Callable[[], object], *, is_not_found: Callable[[BaseException], bool]
) -> None:
    """Run ``delete()``; an error ``is_not_found`` recognises means the object is already gone."""
    try:
        delete()
    except Exception as exc:
        if not is_not_found(exc):
            raise


def policy_error(driver: str, detail: str) -> ValueError:
    """The error for a namespace policy the ``driver`` plugin cannot use."""
    return ValueError(f"invalid {driver} external payload storage policy: {detail}")


@dataclass(frozen=True)
class ObjectStoreDriverPlugin:
    """The policy-to-driver logic of an object-store plugin, with its two hook implementations.

    The container comes from the first ``container_config_keys`` entry set in the policy's
    ``config`` (default ``bucket``), else from its ``reference`` through ``container_from_reference``
    (which raises :func:`policy_error` for a reference it does not understand); ``reference_examples``
    shows valid references in the error when neither is set. The application's client comes from the
    option ``client_option`` (default ``<driver>_client``); ``client_description`` and
    ``client_example`` say what to pass when it is missing. ``build`` makes the driver from
    ``(client, container, prefix)``. ``driver_names`` defaults to the layout's driver name.

    Bind the two ``dw_external_storage_*`` methods to the same names in the plugin module (the entry
    point), e.g. ``dw_external_storage_driver = PLUGIN.dw_external_storage_driver``, so pluggy finds them.
    """

    layout: ObjectStoreLayout
    container_from_reference: Callable[[str], str]
    reference_examples: str
    client_description: str
    client_example: str
    build: Callable[[Any, str, str], ExternalStorageDriver]
    driver_names: tuple[str, ...] = ()
    container_config_keys: tuple[str, ...] = ("bucket",)
    client_option: str = ""

    def __post_init__(self) -> None:
        if not self.driver_names:
            object.__setattr__(self, "driver_names", (self.layout.driver,))
        if not self.client_option:
            object.__setattr__(self, "client_option", f"{self.layout.driver}_client")

    def _config_string(self, policy: ExternalPayloadStoragePolicy, key: str) -> str | None:
        value = policy.config.get(key)
        if value is not None and not isinstance(value, str):
            detail = f"config.{key} must be a string, got {type(value).__name__}"
            raise policy_error(self.layout.driver, detail)
        return value or None

    def container_from_policy(self, policy: ExternalPayloadStoragePolicy) -> str:
        """The checked container name the policy configures (``ValueError`` naming what to set)."""
        candidate: str | None = None
        for key in self.container_config_keys:
            candidate = self._config_string(policy, key)
            if candidate:
                break
        if candidate is None:
            if not policy.reference:
                key = self.container_config_keys[0]
                missing = f"set config.{key}, or a reference such as {self.reference_examples}"
                raise policy_error(self.layout.driver, missing)
            candidate = self.container_from_reference(policy.reference)
        try:
            return self.layout.check_container_name(candidate)
        except ValueError as exc:
            raise policy_error(self.layout.driver, str(exc)) from None

    @hookimpl
    def dw_external_storage_driver_names(self) -> Iterable[str]:
        """The driver names to register."""
        return list(self.driver_names)

    @hookimpl
    def dw_external_storage_driver(
        self, name: str, policy: ExternalPayloadStoragePolicy, options: Mapping[str, Any]
    ) -> ExternalStorageDriver | None:
        """The driver for ``name`` (``None`` when this plugin does not serve it)."""
        if name not in self.driver_names:
            return None
        container = self.container_from_policy(policy)
        client = options.get(self.client_option)
        if client is None:
            raise ValueError(
                f"the {name} external storage driver needs the application's {self.client_description}: pass "
                f"{self.client_option}={self.client_example} to external_storage_driver_from_policy()"
            )
        try:
            return self.build(client, container, policy.prefix)
        except ValueError as exc:
            raise policy_error(self.layout.driver, str(exc)) from None
