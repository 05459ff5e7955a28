import durable_workflow


def test_facade_reports_its_distribution_version() -> None:
    assert durable_workflow.__version__ not in ("", "0.0.0+unknown")
