"""The ``servicepoint`` command line.

Each registered domain (servicepoint.domains) adds its own commands through a
``register(subparsers)`` function in the module it names, so this file stays the
composition root and nothing more.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

Handler = Callable[[argparse.Namespace], int]


def _apply_global_options(args: argparse.Namespace) -> None:
    from servicepoint.settings import reset_settings

    data_dir: Path | None = getattr(args, "data_dir", None)
    if data_dir is not None:
        os.environ["SERVICEPOINT_DATA_DIR"] = str(data_dir)
    reset_settings()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="servicepoint",
        description="ServicePoint: the virtual citizen office (portal, back office, "
        "event-driven flows, video consultations, tutorials).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    from servicepoint import commands, domains

    commands.register(sub)
    domains.register_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _apply_global_options(args)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
