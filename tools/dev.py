#!/usr/bin/env python3
"""Developer entry point: one command from a fresh clone to a working environment.

Needs only Python >= 3.10 with ``venv`` and ``pip``. Creates ``.venv`` in the repository
root, installs every package under ``packages/`` plus the meta-package editable (with the
``dev`` and ``all`` extras), and runs what you asked for inside it:

    python3 tools/dev.py quickstart   # run examples/quickstart.py
    python3 tools/dev.py test [ARGS]  # the whole test suite (pytest ARGS)
    python3 tools/dev.py lint         # ruff check + ruff format --check + mypy --strict
    python3 tools/dev.py ci           # test + lint, as CI runs them
    python3 tools/dev.py bench NAME   # run benchmarks/NAME.py
    python3 tools/dev.py ref-venv     # build .venv-ref with the published 0.4.84 SDK, print its python

Re-running is cheap: the install is skipped while no ``pyproject.toml`` changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
REF_VENV = ROOT / ".venv-ref"
REFERENCE_SDK = "durable-workflow==0.4.84"
# Bump to force a reinstall when the install recipe itself changes.
RECIPE_VERSION = "1"


def _python_in(env: Path) -> Path:
    if os.name == "nt":
        return env / "Scripts" / "python.exe"
    return env / "bin" / "python"


def _package_dirs() -> list[Path]:
    return sorted(p.parent for p in (ROOT / "packages").glob("*/pyproject.toml"))


def _import_names() -> list[str]:
    return [p.name.replace("-", "_") for p in _package_dirs()] + ["durable_workflow"]


def _install_fingerprint() -> str:
    digest = hashlib.sha256(RECIPE_VERSION.encode())
    for pyproject in [ROOT / "pyproject.toml", *(d / "pyproject.toml" for d in _package_dirs())]:
        digest.update(str(pyproject.relative_to(ROOT)).encode())
        digest.update(pyproject.read_bytes())
    return digest.hexdigest()


def _run(cmd: list[str | Path], **kwargs: object) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def ensure_dev_env() -> Path:
    """Create ``.venv`` and install the workspace editable when anything changed."""
    python = _python_in(VENV)
    if not python.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    stamp = VENV / ".dw-install-stamp"
    fingerprint = _install_fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return python
    cmd: list[str | Path] = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    for package_dir in _package_dirs():
        cmd += ["-e", package_dir]
    cmd += ["-e", f"{ROOT}[dev,all]"]
    if _run(cmd) != 0:
        sys.exit("installing the workspace failed; see pip's output above")
    stamp.write_text(fingerprint)
    return python


def ensure_reference_env() -> Path:
    """Create ``.venv-ref`` holding the published SDK (its import name clashes with ours)."""
    python = _python_in(REF_VENV)
    marker = REF_VENV / ".dw-reference-stamp"
    if python.exists() and marker.exists() and marker.read_text() == REFERENCE_SDK:
        return python
    venv.EnvBuilder(with_pip=True, clear=True).create(REF_VENV)
    cmd: list[str | Path] = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if _run([*cmd, REFERENCE_SDK]) != 0:
        sys.exit(f"installing {REFERENCE_SDK} into {REF_VENV} failed; see pip's output above")
    marker.write_text(REFERENCE_SDK)
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "ref-venv":
        print(ensure_reference_env())
        return 0
    python = ensure_dev_env()
    if command == "setup":
        print(f"ready: {python}")
        return 0
    if command == "quickstart":
        return _run([python, ROOT / "examples" / "quickstart.py", *rest])
    if command == "test":
        return _run([python, "-m", "pytest", *rest])
    if command == "mypy":
        targets: list[str | Path] = []
        for name in _import_names():
            targets += ["-p", name]
        return _run([python, "-m", "mypy", *targets])
    if command == "lint":
        ruff = _run([python, "-m", "ruff", "check", "."])
        formatting = _run([python, "-m", "ruff", "format", "--check", "."])
        return ruff or formatting or main(["mypy"])
    if command == "ci":
        return main(["test", *rest]) or main(["lint"])
    if command == "bench":
        if not rest:
            print("usage: tools/dev.py bench NAME  (a script in benchmarks/)", file=sys.stderr)
            return 2
        return _run([python, ROOT / "benchmarks" / f"{rest[0]}.py", *rest[1:]])
    print(f"unknown command {command!r}; run `python3 tools/dev.py help`", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
