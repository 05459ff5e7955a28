"""The ``durable-workflow`` command: SDK housekeeping (``plugins`` lists the discovered plugins)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TextIO

from dw_core.plugins import autoload_disabled, list_plugins

__all__ = ["main"]


def _plugins_command(args: argparse.Namespace, out: TextIO) -> int:
    plugins = list_plugins()
    failed = [info for info in plugins if info.error]
    if args.json:
        document = {
            "autoload": not autoload_disabled(),
            "plugins": [asdict(info) for info in plugins],
        }
        json.dump(document, out, indent=2)
        out.write("\n")
        return 1 if failed else 0
    if autoload_disabled():
        out.write("entry-point autoloading is disabled (DURABLE_WORKFLOW_DISABLE_PLUGIN_AUTOLOAD)\n")
    for info in plugins:
        origin = f"{info.distribution or 'unknown distribution'} {info.version or ''}".rstrip()
        kind = "built-in" if info.builtin else "plugin"
        out.write(f"{info.name}  [{kind}]  {origin}  ({info.module})\n")
        if info.error:
            out.write(f"    FAILED TO LOAD: {info.error}\n")
        for what, names in sorted(info.provides.items()):
            out.write(f"    {what}: {', '.join(names)}\n")
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="durable-workflow", description="Durable Workflow SDK tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    plugins = commands.add_parser(
        "plugins",
        help="list the discovered plugins with their distribution and version",
        description="List built-in and installed plugins (entry-point group 'durable_workflow').",
    )
    plugins.add_argument("--json", action="store_true", help="print a JSON document instead of text")
    plugins.set_defaults(handler=_plugins_command)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (1 when a plugin failed to load)."""
    args = _parser().parse_args(argv)
    code: int = args.handler(args, out or sys.stdout)
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
