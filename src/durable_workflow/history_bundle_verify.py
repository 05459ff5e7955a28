"""Offline integrity verification of history-export bundles (re-exported from
:mod:`dw_testing.history_bundle_verify`); console script ``durable-workflow-history-bundle-verify``.

The ``HISTORY_BUNDLE_*`` / ``verify_history_bundle*`` names are the package top-level aliases.
"""

from dw_testing.history_bundle_verify import (
    BUNDLE_SCHEMA,
    BUNDLE_SCHEMA_VERSION,
    CANONICALIZATION,
    CHECKSUM_ALGORITHM,
    REPORT_SCHEMA,
    REPORT_SCHEMA_VERSION,
    SEVERITY_ERROR,
    SEVERITY_INFO,
    SEVERITY_WARNING,
    SIGNATURE_ALGORITHM,
    STATUS_FAILED,
    STATUS_OK,
    STATUS_WARNING,
    canonical_bundle_json,
    main,
    seal_bundle,
    verify_bundle,
    verify_bundle_json,
)

HISTORY_BUNDLE_SCHEMA = BUNDLE_SCHEMA
HISTORY_BUNDLE_SCHEMA_VERSION = BUNDLE_SCHEMA_VERSION
HISTORY_BUNDLE_VERIFICATION_REPORT_SCHEMA = REPORT_SCHEMA
HISTORY_BUNDLE_VERIFICATION_REPORT_SCHEMA_VERSION = REPORT_SCHEMA_VERSION
verify_history_bundle = verify_bundle
verify_history_bundle_json = verify_bundle_json

__all__ = [
    "BUNDLE_SCHEMA",
    "BUNDLE_SCHEMA_VERSION",
    "CANONICALIZATION",
    "CHECKSUM_ALGORITHM",
    "HISTORY_BUNDLE_SCHEMA",
    "HISTORY_BUNDLE_SCHEMA_VERSION",
    "HISTORY_BUNDLE_VERIFICATION_REPORT_SCHEMA",
    "HISTORY_BUNDLE_VERIFICATION_REPORT_SCHEMA_VERSION",
    "REPORT_SCHEMA",
    "REPORT_SCHEMA_VERSION",
    "SEVERITY_ERROR",
    "SEVERITY_INFO",
    "SEVERITY_WARNING",
    "SIGNATURE_ALGORITHM",
    "STATUS_FAILED",
    "STATUS_OK",
    "STATUS_WARNING",
    "canonical_bundle_json",
    "main",
    "seal_bundle",
    "verify_bundle",
    "verify_bundle_json",
    "verify_history_bundle",
    "verify_history_bundle_json",
]
