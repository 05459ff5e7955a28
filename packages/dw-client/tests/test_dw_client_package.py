import pathlib
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import dw_client

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_installed_version_matches_pyproject() -> None:
    declared = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert dw_client.__version__ == declared


def test_ships_py_typed_marker() -> None:
    assert (pathlib.Path(dw_client.__file__).parent / "py.typed").is_file()
