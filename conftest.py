"""Repository-wide test configuration.

The recorded fixtures live in ``shared/`` beside the repository (``../shared`` from its root),
not inside it. ``SHARED_FIXTURES`` is that folder's ``fixtures/``; ``DW_SHARED_DIR`` overrides
where ``shared/`` is. A checkout without it fails at collection instead of skipping the tests
that prove wire compatibility.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent


def _locate_shared() -> Path | None:
    override = os.environ.get("DW_SHARED_DIR")
    if override:
        return Path(override).resolve()
    for base in (REPO_ROOT, *REPO_ROOT.parents):
        candidate = base / "shared"
        if (candidate / "fixtures").is_dir() and candidate != REPO_ROOT:
            return candidate
    return None


SHARED_DIR = _locate_shared()


def pytest_configure(config: pytest.Config) -> None:
    if SHARED_DIR is None or not (SHARED_DIR / "fixtures").is_dir():
        raise pytest.UsageError(
            "the recorded fixtures were not found: expected a 'shared/' folder with 'fixtures/' "
            f"beside the repository ({REPO_ROOT.parent / 'shared'}); set DW_SHARED_DIR to its path"
        )
    os.environ["DW_SHARED_DIR"] = str(SHARED_DIR)


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """The ``fixtures/`` folder of ``shared/`` (recorded from the real system; never edit)."""
    assert SHARED_DIR is not None
    return SHARED_DIR / "fixtures"
