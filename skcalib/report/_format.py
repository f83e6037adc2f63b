"""The report's tables as rows of text, shared by the console and the HTML output."""

from dataclasses import dataclass

__all__ = ["Table", "formatted_tables"]


@dataclass
class Table:
    """A titled table of strings; ``highlight`` holds the indices of rows to stress."""

    key: str
    title: str
    columns: list
    rows: list
    note: str = ""
    highlight: tuple = ()


def _num(value, digits=4):
    return f"{value:.{digits}f}"


def _metrics(report):
    level = "95%"
    rows = [
        [r["metric"], _num(r["estimate"]), f"[{_num(r['low'])}, {_num(r['high'])}]"]
        for r in report.metrics
    ]
    return Table(
        "metrics",
        "Metrics of the given probabilities",
        ["metric", "estimate", f"{level} bootstrap interval"],
        rows,
        note=(
            f"{report.summary['n_bootstrap']} bootstrap resamples; lower is better "
            "except accuracy. ECE: 15 equal-width bins, top label; ACE: equal-mass "
            "bins, classwise."
        ),
    )


def _calibrators(report):
    best = report.best
    rows, highlight = [], []
    for i, r in enumerate(report.calibrators):
        tags = [key for key in ("NLL", "ECE") if best[key] == r["method"]]
        if tags:
            highlight.append(i)
        name = r["method"] + ("" if r["converged"] else " *")
        rows.append(
            [
                name + (f"  (best {' and '.join(tags)})" if tags else ""),
                _num(r["NLL"]),
                _num(r["ECE"]),
                _num(r["Brier"]),
                _num(r["accuracy"]),
            ]
        )
    return Table(
        "calibrators",
        "Calibrators, cross-validated",
        ["method", "NLL", "ECE", "Brier", "accuracy"],
        rows,
        note=(
            f"Out-of-fold probabilities of each calibrator ({report.summary['n_folds']}"
            "-fold stratified cross-fitting); 'none' is the input as given. Best by "
            f"NLL: {best['NLL']}; best by ECE: {best['ECE']}."
            + (
                " * did not converge in some folds (see its max_iter and "
                "regularisation)."
                if not all(r["converged"] for r in report.calibrators)
                else ""
            )
        ),
        highlight=tuple(highlight),
    )


def _conformal(report):
    rows = [
        [r["score"], f"{r['level']:.0%}", _num(r["coverage"], 3)]
        + [_num(r["set_size"], 2)]
        for r in report.conformal
    ]
    return Table(
        "conformal",
        "Split-conformal prediction sets",
        ["score", "level", "mean coverage", "mean set size"],
        rows,
        note=(
            f"Averaged over {report.summary['n_conformal_splits']} random half/half "
            "calibration/test splits of the given probabilities (APS randomised); "
            "the guarantee: coverage at least the level, on average over "
            "calibration sets."
        ),
    )


def _ood(report):
    rows = [[r["detector"], _num(r["AUROC"]), _num(r["FPR@95TPR"])] for r in report.ood]
    best = max(range(len(rows)), key=lambda i: report.ood[i]["AUROC"])
    return Table(
        "ood",
        "Out-of-distribution detection",
        ["detector", "AUROC", "FPR at 95% TPR"],
        rows,
        note=(
            f"{report.summary['n_samples']} in-distribution against "
            f"{report.summary['n_ood']} OOD samples; AUROC higher is better, FPR "
            "lower is better."
        ),
        highlight=(best,),
    )


def formatted_tables(report):
    """The tables of ``report`` (an OOD table only when it has OOD scores)."""
    tables = [_metrics(report), _calibrators(report), _conformal(report)]
    if report.ood:
        tables.append(_ood(report))
    return tables
