"""The ``sudata`` command. Each area contributes its own sub-commands through ``add_commands``."""

from __future__ import annotations

import argparse
import importlib

# Modules that register sub-commands; each exposes add_commands(subparsers).
COMMAND_MODULES = (
    "cli.pipeline",              # run, status, ingest
    "cli.onboard",               # onboard
    "cli.gate",                  # gate accept | withdraw | list
    "cli.alerts",                # alerts
    "cli.harvest",               # harvest
    "cli.directory",             # directory template | import | plan
    "samplegen.commands",        # generate
    "portal.commands",           # serve, keys
    "portal.suonline.commands",  # units
    "cli.operation",             # applications, reviewers, zone
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sudata", description="Su Data Foundation")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that area is not installed in this checkout
            raise
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)

