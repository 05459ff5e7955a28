"""The ``durable_workflow`` facade keeps the public API of the published SDK importable."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

import durable_workflow


def test_facade_reports_its_distribution_version() -> None:
    assert durable_workflow.__version__ not in ("", "0.0.0+unknown")


def test_every_public_name_resolves() -> None:
    missing = [name for name in durable_workflow.__all__ if not hasattr(durable_workflow, name)]
    assert missing == []


def test_the_import_line_users_write_gives_the_implementations() -> None:
    from dw_client import Client as ImplClient
    from dw_worker import Worker as ImplWorker

    from durable_workflow import Client, Worker, activity, workflow

    assert Client is ImplClient
    assert Worker is ImplWorker
    assert callable(workflow.defn)
    assert callable(activity.defn)


def test_submodules_are_package_attributes() -> None:
    for name in ("serializer", "errors", "client", "worker", "metrics", "external_storage", "sync"):
        assert getattr(durable_workflow, name).__name__ == f"durable_workflow.{name}"


def test_cancellation_errors_are_not_caught_by_except_exception() -> None:
    with pytest.raises(durable_workflow.WorkflowCancelled):
        try:
            raise durable_workflow.WorkflowCancelled()
        except Exception:  # pragma: no cover - the point is that this does not run
            pytest.fail("WorkflowCancelled must not be an Exception")


@pytest.mark.parametrize(
    ("name", "module", "extra"),
    [
        ("S3ExternalStorage", "dw_storage_s3", "s3"),
        ("GCSExternalStorage", "dw_storage_gcs", "gcs"),
        ("AzureBlobExternalStorage", "dw_storage_azure", "azure"),
        ("PrometheusMetrics", "dw_metrics_prometheus", "prometheus"),
    ],
)
def test_plugin_names_without_their_extra_raise_import_error_naming_it(
    name: str, module: str, extra: str
) -> None:
    # A subprocess where the plugin distribution is unimportable (sys.modules entry set to None),
    # as in a default install without the extra; the facade itself must still import.
    script = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "import durable_workflow\n"
        "try:\n"
        f"    getattr(durable_workflow, {name!r})\n"
        "except ImportError as exc:\n"
        "    print('IMPORT-ERROR', exc)\n"
        "else:\n"
        "    print('RESOLVED')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "IMPORT-ERROR" in done.stdout
    assert f"durable-workflow[{extra}]" in done.stdout


def test_star_import_works_without_the_plugin_extras() -> None:
    blocked = ["dw_storage_s3", "dw_storage_gcs", "dw_storage_azure", "dw_metrics_prometheus"]
    script = (
        "import importlib.util, sys\n"
        f"blocked = {blocked!r}\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name in blocked else real(name, *a)\n"
        "for name in blocked: sys.modules[name] = None\n"
        "from durable_workflow import *\n"
        "print('OK', Client.__name__, 'S3ExternalStorage' in dir())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["OK", "Client", "False"]


def _reference_python() -> str:
    repo = pathlib.Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "tools/dev.py", "ref-venv"], cwd=repo, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_public_names_are_exactly_those_of_the_published_sdk() -> None:
    # The published 0.4.84 package, installed in its own venv, is the authority on the surface
    # users import; a built-package smoke of theirs imports every one of these names.
    script = "import json, durable_workflow; print(json.dumps(sorted(durable_workflow.__all__)))"
    done = subprocess.run([_reference_python(), "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    published = set(json.loads(done.stdout))
    assert len(published) == 152
    assert sorted(published - set(durable_workflow.__all__)) == []
    assert sorted(set(durable_workflow.__all__) - published) == []
