"""``nmr-bench leaderboard RESULTS [--publish DIR]``: leaderboard tables of a results file.

Prints the tables (overall, by complexity, by length; best values marked). ``--publish DIR``
also writes Markdown and CSV tables, matplotlib figures and a README.md holding the command
line that made them.
"""

from __future__ import annotations

import argparse
import shlex
import sys

NAME = "leaderboard"
HELP = "leaderboard tables (and, with --publish, Markdown/CSV tables and figures) of results"
ORDER = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results",
        metavar="RESULTS",
        help="a results file written by 'nmr-bench run' (CSV or Parquet)",
    )
    parser.add_argument(
        "--publish",
        default=None,
        metavar="DIR",
        help="write tables, figures and README.md to DIR (e.g. leaderboards/NAME)",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--no-filmstrips",
        action="store_true",
        help="with --publish: skip the filmstrip comparisons (they render offscreen with MuJoCo)",
    )


def run(args: argparse.Namespace) -> int:
    from benchmark import leaderboard
    from benchmark.results import read_results

    df = read_results(args.results)
    print(leaderboard.render_markdown(df) if args.markdown else leaderboard.render_text(df))
    if args.publish:
        argv = (
            ["nmr-bench", *sys.argv[1:]]
            if sys.argv and "nmr-bench" in sys.argv[0]
            else ["nmr-bench", "leaderboard", args.results, "--publish", args.publish]
        )
        written = leaderboard.publish(
            args.results, args.publish, shlex.join(argv), filmstrips=not args.no_filmstrips
        )
        print(f"\npublished {len(written)} files to {args.publish}")
    return 0
