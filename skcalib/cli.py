"""The ``skcalib`` command: a calibration report of stored scores, and calibration.

::

    skcalib report [PREDICTIONS] [--labels COL] [--scores COLS | --logits]
                   [--ood FILE] [--output report.html] [--quiet]
                   [--random-state N] [--n-bootstrap N]
    skcalib calibrate --method NAME TRAIN --apply TEST --output OUT
                      [--save MODEL] [--labels COL] [--scores COLS] [--logits]

Without ``PREDICTIONS``, ``skcalib report`` runs a built-in demo. File layouts
are described in :mod:`skcalib.report._io`. Exit status: 0 on success, 1 when
an optional dependency is missing (install ``skcalib[report]``), 2 on bad
usage or an unusable input file (one-line message on stderr).
"""

import argparse
import importlib
import sys
from pathlib import Path

__all__ = ["main"]

EXIT_OK, EXIT_MISSING_DEPENDENCY, EXIT_BAD_INPUT = 0, 1, 2
#: Fewest rows ``skcalib report`` accepts (cross-fitting and conformal splits).
MIN_REPORT_ROWS = 20
_INSTALL = 'pip install "skcalib[report]"'
_MODEL_FORMATS = (".joblib", ".pkl", ".skops")


class _Failure(Exception):
    """Ends the command with ``status`` after printing ``message``."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def _require(*modules):
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise _Failure(
                f"this command needs {name}; install it with: {_INSTALL}",
                EXIT_MISSING_DEPENDENCY,
            ) from None


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _parser():
    from .calibration._calibrated_classifier_cv import CALIBRATORS

    parser = argparse.ArgumentParser(
        prog="skcalib",
        description="Calibration, conformal prediction and OOD reports of a "
        "model's stored scores.",
        epilog="Exit status: 0 ok, 1 missing optional dependency, 2 bad usage or "
        "input file.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def columns(sub):
        sub.add_argument(
            "--labels", metavar="COL", help="label column (array name for NPZ)"
        )
        sub.add_argument(
            "--scores",
            metavar="COLS",
            help="comma-separated score columns, one per class (default: every "
            "other numeric column)",
        )
        sub.add_argument(
            "--logits",
            action="store_true",
            help="the scores are logits (default: probabilities summing to one)",
        )

    report = commands.add_parser(
        "report",
        help="metrics, calibrators, conformal sets and OOD detection as an HTML report",
        description="Without PREDICTIONS, a built-in demo on scikit-learn's digits.",
    )
    report.add_argument(
        "predictions",
        nargs="?",
        metavar="PREDICTIONS",
        help="CSV, Parquet, NPY (scores, then a label column) or NPZ file",
    )
    columns(report)
    report.add_argument("--ood", metavar="FILE", help="scores of OOD samples")
    report.add_argument(
        "--output", default="report.html", help="HTML file (default: report.html)"
    )
    report.add_argument(
        "--quiet", action="store_true", help="no progress bars and no tables"
    )
    report.add_argument("--random-state", type=int, default=0, metavar="N")
    report.add_argument("--n-bootstrap", type=_positive_int, default=200, metavar="N")

    calibrate = commands.add_parser(
        "calibrate",
        help="fit a calibrator on scored data and calibrate other scores",
    )
    calibrate.add_argument(
        "--method",
        required=True,
        choices=sorted(CALIBRATORS),
        metavar="NAME",
        help=f"one of {', '.join(sorted(CALIBRATORS))}",
    )
    calibrate.add_argument("train", metavar="TRAIN", help="scores and labels to fit")
    calibrate.add_argument(
        "--apply", required=True, metavar="TEST", help="scores to calibrate"
    )
    calibrate.add_argument(
        "--output", required=True, metavar="OUT", help="calibrated probabilities"
    )
    calibrate.add_argument(
        "--save", metavar="MODEL", help="save the calibrator (.joblib, .pkl, .skops)"
    )
    columns(calibrate)
    return parser


def _check_suffix(path, formats, what):
    if path is not None and Path(path).suffix.lower() not in formats:
        raise _Failure(
            f"{what} {path}: unknown format; use one of {', '.join(formats)}",
            EXIT_BAD_INPUT,
        )


def _report(args):
    _require("rich", "matplotlib")
    from rich.console import Console

    from .report import (
        DEMO_DESCRIPTION,
        calibration_report,
        demo_scores,
        read_scores,
    )
    from .report._console import print_tables, progress_bar

    _check_suffix(args.output, (".html", ".htm"), "--output")
    if args.predictions is None:
        if args.ood or args.labels or args.scores or args.logits:
            raise _Failure(
                "--ood, --labels, --scores and --logits need a PREDICTIONS file",
                EXIT_BAD_INPUT,
            )
        scores, y, ood = demo_scores(random_state=args.random_state)
        labels, logits, source = None, True, DEMO_DESCRIPTION
    else:
        data = read_scores(
            args.predictions,
            labels=args.labels,
            scores=args.scores,
            logits=args.logits,
            min_rows=MIN_REPORT_ROWS,
        )
        scores, y, labels, logits = data.scores, data.y, data.classes, data.logits
        source, ood = data.source, None
        if args.ood is not None:
            ood = read_scores(
                args.ood,
                labels=args.labels,
                scores=args.scores,
                logits=logits,
                require_labels=False,
                match_labels=False,
                n_scores=len(data.columns),
            ).scores
    console = Console()
    with progress_bar(console, enabled=not args.quiet) as progress:
        report = calibration_report(
            y,
            scores,
            logits=logits,
            labels=labels,
            ood_score=ood,
            n_bootstrap=args.n_bootstrap,
            random_state=args.random_state,
            progress=progress,
        )
    report.summary["source"] = source
    if not args.quiet:
        console.print(f"[bold]{source}[/bold]")
        print_tables(report, console)
    path = report.to_html(args.output)
    print(f"Report written to {path.resolve()}")


def _calibrate(args):
    from .report import fit_score_calibrator, read_scores, write_probabilities
    from .report._io import FORMATS

    _check_suffix(args.output, FORMATS, "--output")
    _check_suffix(args.save, _MODEL_FORMATS, "--save")
    if args.save and args.save.lower().endswith(".skops"):
        _require("skops")
    train = read_scores(
        args.train, labels=args.labels, scores=args.scores, logits=args.logits
    )
    test = read_scores(
        args.apply,
        labels=args.labels,
        scores=args.scores,
        logits=train.logits,
        require_labels=False,
        match_labels=False,
        n_scores=len(train.columns),
    )
    model = fit_score_calibrator(
        train.scores, train.y, method=args.method, logits=train.logits
    )
    proba = model.predict_proba(test.scores)
    write_probabilities(args.output, proba, classes=model.classes_, y=test.y)
    print(
        f"Calibrated probabilities of {proba.shape[0]} samples written to {args.output}"
    )
    if args.save:
        if args.save.lower().endswith(".skops"):
            import skops.io

            skops.io.dump(model, args.save)
        else:
            import joblib

            joblib.dump(model, args.save)
        print(f"Calibrator ({args.method}) saved to {args.save}")


def main(argv=None):
    """Run the ``skcalib`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 when an optional dependency is missing, 2 on bad usage
        or an unusable input file.

    Examples
    --------
    >>> from skcalib.cli import main
    >>> main(["report", "missing.csv"])  # the message goes to stderr
    2
    """
    from .report._io import InputError

    args = _parser().parse_args(argv)
    command = _report if args.command == "report" else _calibrate
    try:
        command(args)
    except _Failure as exc:
        message, status = str(exc), exc.status
    except ImportError as exc:
        message = f"{exc}; install it with: {_INSTALL}"
        status = EXIT_MISSING_DEPENDENCY
    except (InputError, ValueError, OSError) as exc:
        message, status = str(exc), EXIT_BAD_INPUT
    else:
        return EXIT_OK
    print(f"skcalib {args.command}: error: {message}", file=sys.stderr)
    return status
