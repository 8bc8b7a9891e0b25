"""``nmr-bench``: one entry point, one module per subcommand under ``benchmark.commands``.

Each module in ``benchmark/commands`` defines ``NAME``, ``HELP`` and two functions:
``add_arguments(parser)`` and ``run(args) -> int``. Bad input raises an
:class:`~nmr_gym.errors.NmrGymError` (or ``FileNotFoundError``); the CLI prints one line on
stderr and exits 2, with the traceback only under ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback

from nmr_gym.errors import NmrGymError

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _commands() -> list:
    import benchmark.commands as pkg

    mods = [
        importlib.import_module(f"benchmark.commands.{info.name}")
        for info in pkgutil.iter_modules(pkg.__path__)
        if not info.name.startswith("_")
    ]
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 100))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nmr-bench",
        description="Retarget human motion to the Unitree G1, score it, track it, publish it.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _commands():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        p.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show tracebacks on errors",
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args._run(args) or EXIT_OK)
    except (NmrGymError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"nmr-bench {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"nmr-bench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
