"""Render a :class:`~skcalib.report.CalibrationReport` as one self-contained HTML file.

Figures are drawn with skcalib's displays and embedded as base64 PNG images;
the style sheet is inline: the file refers to nothing outside itself.
"""

import base64
import html
import io
from pathlib import Path

from ._format import formatted_tables

__all__ = ["write_html"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1f2328; background: #f6f8fa; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #d0d7de;
     padding-bottom: 0.3em; }
p.meta, p.note { color: #57606a; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.95em; }
th, td { border: 1px solid #d0d7de; padding: 5px 12px; text-align: right; }
th { background: #f6f8fa; }
td:first-child, th:first-child { text-align: left; }
tr.best td { background: #dafbe1; font-weight: 600; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: 0.9em; margin-top: 0.3em; }
"""


def _subplots(figsize):
    """Two side-by-side axes of a figure outside pyplot (no backend, no window)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    return figure, figure.subplots(1, 2)


def _png(figure):
    """A ``<img>`` with the figure as a base64 PNG."""
    buffer = io.BytesIO()
    # "tight": the histogram panels the reliability display appends below its
    # axes lie outside the constrained layout, with their tick labels.
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _figure(figure, caption):
    return (
        f"<figure>{_png(figure)}<figcaption>{html.escape(caption)}</figcaption>"
        "</figure>"
    )


def _reliability(report):
    from ..metrics import ReliabilityDisplay

    best = report.best["NLL"]
    fig, axes = _subplots((11, 5.6))
    curves = [("as given", report.proba)]
    if best != "none":
        curves.append((f"{best} (out-of-fold)", report.calibrated_proba[best]))
    for ax, (name, proba) in zip(axes, curves, strict=False):
        ReliabilityDisplay.from_predictions(
            report.y_index, proba, labels=range(proba.shape[1]), name=name, ax=ax
        )
        ax.set_title(name)
        ax.legend(loc="upper left", fontsize="small")
    if len(curves) == 1:
        axes[1].set_visible(False)
    return _figure(
        fig,
        "Reliability diagrams (top label, 15 bins): the probabilities as given and "
        f"after the calibrator with the best cross-validated NLL ({best}); the "
        "histograms below show the confidences.",
    )


def _coverage(report):
    from ..metrics import CoverageDisplay

    fig, axes = _subplots((11, 4.2))
    for name, (levels, coverage, size) in report.coverage_curves.items():
        CoverageDisplay(
            strata=levels,
            coverage=coverage,
            set_size=size,
            by="level",
            confidence_level=levels,
            name=name,
        ).plot(ax=axes)
    for ax in axes:  # each display draws its own target line: one legend entry
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles, strict=True))
        ax.legend(unique.values(), unique.keys(), loc="upper left")
    return _figure(
        fig,
        "Mean coverage (left, dashed: the target) and mean set size (right) of "
        "split-conformal sets against the confidence level.",
    )


def _ood(report):
    import numpy as np

    from ..metrics import OODScoreDisplay

    best = max(report.ood, key=lambda row: row["AUROC"])["detector"]
    parts = []
    for name in dict.fromkeys(["MSP", best]):  # the baseline and the best
        s_in, s_out = report.ood_scores[name]
        fig, axes = _subplots((11, 3.8))
        is_in = np.r_[np.ones(s_in.shape[0]), np.zeros(s_out.shape[0])]
        OODScoreDisplay.from_predictions(is_in, np.r_[s_in, s_out], name=name, ax=axes)
        parts.append(
            _figure(
                fig,
                f"{name}: score histograms and ROC curve (in-distribution "
                "positive)" + (" - the best AUROC." if name == best else "."),
            )
        )
    return "".join(parts)


def _table(table):
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for i, row in enumerate(table.rows):
        cls = ' class="best"' if i in table.highlight else ""
        cells = "".join(f"<td>{html.escape(v)}</td>" for v in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return (
        f'<h2 id="{table.key}">{html.escape(table.title)}</h2>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f'<p class="note">{html.escape(table.note)}</p>'
    )


def write_html(report, path, *, title="skcalib calibration report"):
    """Write ``report`` to ``path`` as one HTML file; return the path.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skcalib.report import calibration_report
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> proba = np.clip(0.5 + 0.4 * (2 * y - 1) + rng.normal(0, 0.3, 200), 0.01, 0.99)
    >>> report = calibration_report(y, np.c_[1 - proba, proba], n_bootstrap=10,
    ...                             n_conformal_splits=3)
    >>> path = report.to_html(os.path.join(tempfile.mkdtemp(), "report.html"))
    >>> path.read_text().startswith("<!DOCTYPE html>")
    True
    """
    tables = {t.key: _table(t) for t in formatted_tables(report)}
    summary = report.summary
    sections = [
        tables["metrics"],
        _reliability(report),
        tables["calibrators"],
        tables["conformal"],
        _coverage(report),
    ]
    if "ood" in tables:
        sections += [tables["ood"], _ood(report)]
    meta = (
        f"{summary['n_samples']} samples, {summary['n_classes']} classes, scores given "
        f"as {summary['score_kind']}"
        + (f", {summary['n_ood']} OOD samples" if summary["n_ood"] else "")
        + f"; random_state={summary['random_state']}."
    )
    source = summary.get("source")
    if source:
        meta = f"{source}: {meta}"
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><main>"
        f'<h1>{html.escape(title)}</h1><p class="meta">{html.escape(meta)}</p>'
        + "".join(sections)
        + "</main></body></html>\n"
    )
    path = Path(path)
    path.write_text(document, encoding="utf-8")
    return path
