"""The server's auth-composition contract (re-exported from :mod:`dw_core.auth_composition`)."""

from dw_core.auth_composition import (
    AUTH_COMPOSITION_CONTRACT_SCHEMA,
    AUTH_COMPOSITION_CONTRACT_VERSION,
    AUTH_COMPOSITION_REQUIRED_EFFECTIVE_CONFIG_FIELDS,
    AuthCompositionContract,
    AuthCompositionContractError,
    parse_auth_composition_contract,
)

__all__ = [
    "AUTH_COMPOSITION_CONTRACT_SCHEMA",
    "AUTH_COMPOSITION_CONTRACT_VERSION",
    "AUTH_COMPOSITION_REQUIRED_EFFECTIVE_CONFIG_FIELDS",
    "AuthCompositionContract",
    "AuthCompositionContractError",
    "parse_auth_composition_contract",
]
