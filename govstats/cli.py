"""The ``govstats`` command line (also ``python -m govstats``).

``govstats report``
    execute every notebook run listed in ``reports.yml`` (see
    :mod:`govstats.report`) and write ``reports/``;
``govstats build-data``
    rebuild ``data/processed`` from ``data/raw``.

Exit codes: 0 success, 1 at least one run failed, 2 invalid configuration or
parameters (nothing was run), 130 interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

__all__ = ["main"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="govstats",
        description="govstats: rebuild the processed data and regenerate the notebook reports.",
        epilog="exit codes: 0 ok, 1 a run failed, 2 invalid configuration (nothing ran), "
        "130 interrupted",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("report", help="regenerate the notebook reports in reports/")
    rep.add_argument("--config", "-c", default=None,
                     help="reports configuration (default: reports.yml at the project root)")
    rep.add_argument("--jobs", "-j", type=_positive_int, default=None,
                     help="runs at the same time (default: the number of cores)")
    rep.add_argument("--force", action="store_true", help="rerun even when nothing changed")
    rep.add_argument("--scheduler", metavar="ADDRESS", default=None,
                     help="run on a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786")
    rep.add_argument("--only", action="append", default=[], metavar="PATTERN",
                     help="run only runs whose name (or entry name) matches; repeatable")
    rep.add_argument("--parameter", "-p", action="append", nargs="+", default=[],
                     metavar="NAME VALUE",
                     help="one-off parameter for the runs --only selects: -p NAME VALUE or "
                     "-p NAME=VALUE, VALUE read as YAML (-p places '[hengyang, quzhou]'); "
                     "validated against the notebook, run as <run>__NAME-VALUE; repeatable")
    rep.add_argument("--show-code", action="store_true", default=None,
                     help="show code cells in every HTML report")
    rep.add_argument("--no-build", action="store_true",
                     help="do not rebuild data/processed before running")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar")

    sub.add_parser("build-data", help="rebuild data/processed from data/raw")
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _report(args: argparse.Namespace) -> int:
    from govstats.errors import DataValidationError
    from govstats.report import run_reports
    from govstats.report.params import parse_cli_parameters

    try:
        parameters = parse_cli_parameters(args.parameter) if args.parameter else None
    except ValueError as exc:
        print(f"govstats report: nothing was run. {exc}", file=sys.stderr)
        return 2
    try:
        summary = run_reports(
            args.config,
            jobs=args.jobs,
            force=args.force,
            scheduler=args.scheduler,
            only=args.only,
            show_code=args.show_code,
            build=not args.no_build,
            progress=not args.no_progress,
            parameters=parameters,
        )
    except DataValidationError as exc:
        print(f"govstats report: nothing was run.\n{exc}", file=sys.stderr)
        return 2
    except (ValueError, RuntimeError) as exc:
        print(f"govstats report: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("govstats report: interrupted; the runs that finished are in the index, the others "
              "left their previous reports untouched", file=sys.stderr)
        return 130
    print(
        f"{len(summary.executed)} run, {len(summary.cached)} from cache, "
        f"{len(summary.failed)} failed in {summary.elapsed_s:.1f} s; open {summary.index_path}"
    )
    for name in summary.failed:
        rec = summary.record(name)
        err = rec.get("error") or {}
        where = rec.get("failed_html")
        line = f"FAILED {name}: {err.get('message', 'unknown error')}"
        if where:
            line += f"\n       see {summary.index_path.parent / where}#papermill-error-cell"
        print(line, file=sys.stderr)
    return summary.exit_code


def _build_data() -> int:
    from govstats.errors import DataValidationError
    from govstats.report import build_processed_data

    try:
        return 0 if build_processed_data() else 1
    except DataValidationError as exc:
        print(f"govstats build-data: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Examples
    --------
    >>> main(["report", "--help"])  # doctest: +SKIP
    """
    from govstats.report._imports import skip_slow_optional_imports

    skip_slow_optional_imports()
    args = _parser().parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        # `kill`, a batch scheduler or CI cancelling the job: stop the workers and index what
        # finished, exactly as for Ctrl-C.
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if args.command == "report":
            return _report(args)
        return _build_data()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
