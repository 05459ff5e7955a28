import pathlib
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

import dw_metrics_prometheus

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_installed_version_matches_pyproject() -> None:
    declared = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert dw_metrics_prometheus.__version__ == declared


def test_ships_py_typed_marker() -> None:
    assert (pathlib.Path(dw_metrics_prometheus.__file__).parent / "py.typed").is_file()
