"""The ``skcalib`` command end to end: subprocesses, exit codes, messages, HTML."""

import base64
import re
import subprocess
import sys
from html.parser import HTMLParser

import joblib
import numpy as np
import pandas as pd
import pytest

from skcalib.cli import main
from skcalib.report import read_scores
from skcalib.utils._array_api import softmax


def _run(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "skcalib", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _scores(n=60, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    logits = 3 * (np.eye(k)[y] + rng.normal(0, 1, (n, k)))
    return y, logits


def _csv(path, y, scores):
    df = pd.DataFrame(scores, columns=[f"p{j}" for j in range(scores.shape[1])])
    df["label"] = y
    df.to_csv(path, index=False)
    return path


class _Page(HTMLParser):
    """Tables, images and every src/href of an HTML page."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self.links, self.cells = 0, [], [], []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tables += tag == "table"
        if tag == "img":
            self.images.append(attrs["src"])
        self.links += [attrs[a] for a in ("src", "href") if a in attrs]
        self._in_cell = tag in ("td", "th")

    def handle_data(self, data):
        if self._in_cell:
            self.cells.append(data)


def _parse(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_report_end_to_end(tmp_path, capsys):
    y, logits = _scores()
    data = _csv(tmp_path / "scores.csv", y, softmax(logits, axis=1))
    ood = _csv(tmp_path / "ood.csv", np.zeros(30), softmax(_scores(30)[1] / 3, axis=1))
    out = tmp_path / "r.html"
    args = ["report", data, "--ood", ood, "--output", out, "--n-bootstrap", "20"]
    status = main(list(map(str, args)))
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert f"Report written to {out.resolve()}" in captured.out
    for title in ("Metrics", "Calibrators", "Split-conformal", "Out-of-distribution"):
        assert title in captured.out
    page = _parse(out)
    assert page.tables == 4
    first_words = {cell.split()[0] for cell in page.cells if cell.strip()}
    assert {"smooth", "temperature", "LAC", "MSP"} <= first_words
    # reliability, coverage, two OOD figures: all embedded PNGs
    assert len(page.images) == 4
    for src in page.images:
        head, data64 = src.split(",", 1)
        assert head == "data:image/png;base64"
        assert base64.b64decode(data64).startswith(b"\x89PNG\r\n\x1a\n")
    assert all(link.startswith("data:") for link in page.links)
    text = out.read_text()
    assert "http://" not in text and "https://" not in text and "<link" not in text


def test_report_quiet_npz_logits_in_process(tmp_path, capsys):
    y, logits = _scores()
    path = tmp_path / "s.npz"
    np.savez(path, logits=logits, labels=y)
    out = tmp_path / "r.html"
    status = main(
        ["report", str(path), "--output", str(out), "--quiet", "--n-bootstrap", "5"]
    )
    captured = capsys.readouterr()
    assert status == 0
    assert captured.out.strip() == f"Report written to {out.resolve()}"
    page = _parse(out)
    assert page.tables == 3 and len(page.images) == 2
    assert "energy" not in page.cells  # no OOD section without --ood


def _train_test_files(tmp_path, suffix):
    """Train (scores and labels) and test (scores only) files; the test scores."""
    y, logits = _scores()
    proba = softmax(logits, axis=1)
    train, test = tmp_path / f"train{suffix}", tmp_path / f"test{suffix}"
    if suffix == ".npy":
        np.save(train, np.column_stack([proba[:40], y[:40]]))
        np.save(test, proba[40:])  # scores only
    elif suffix == ".npz":
        np.savez(train, proba=proba[:40], labels=y[:40])
        np.savez(test, proba=proba[40:])
    else:
        parts = [pd.DataFrame(proba[:40], columns=["a", "b", "c"])]
        parts.append(pd.DataFrame(proba[40:], columns=["a", "b", "c"]))
        parts[0]["label"] = y[:40]
        for frame, path in zip(parts, (train, test), strict=True):
            if suffix == ".csv":
                frame.to_csv(path, index=False)
            else:
                frame.to_parquet(path)
    return train, test, proba[40:]


def _load(model_path):
    if model_path.suffix == ".joblib":
        return joblib.load(model_path)
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=model_path)
    return skops.io.load(model_path, trusted=untrusted)


def _check_round_trip(out, model_path, test_scores):
    written = read_scores(out, require_labels=False, n_scores=3)
    model = _load(model_path)
    np.testing.assert_allclose(written.scores, model.predict_proba(test_scores))
    assert not np.allclose(written.scores, test_scores)  # it did calibrate
    np.testing.assert_allclose(written.scores.sum(axis=1), 1)


@pytest.mark.parametrize(
    "suffix, save",
    [
        (".csv", ".joblib"),
        (".parquet", ".skops"),
        (".npy", ".joblib"),
        (".npz", ".skops"),
    ],
)
def test_calibrate_round_trip(tmp_path, suffix, save, capsys):
    train, test, test_scores = _train_test_files(tmp_path, suffix)
    out, model_path = tmp_path / f"out{suffix}", tmp_path / f"model{save}"
    args = ["calibrate", "--method", "temperature", train, "--apply", test]
    status = main(list(map(str, [*args, "--output", out, "--save", model_path])))
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "written to" in captured.out and "saved to" in captured.out
    _check_round_trip(out, model_path, test_scores)


def test_calibrate_subprocess(tmp_path):
    train, test, test_scores = _train_test_files(tmp_path, ".csv")
    out, model_path = tmp_path / "out.csv", tmp_path / "model.joblib"
    proc = _run(
        "calibrate",
        "--method",
        "temperature",
        train,
        "--apply",
        test,
        "--output",
        out,
        "--save",
        model_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    _check_round_trip(out, model_path, test_scores)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npy", ".npz"])
def test_every_format_in_subprocess(tmp_path, suffix):
    train, test, test_scores = _train_test_files(tmp_path, suffix)
    out, model_path = tmp_path / f"out{suffix}", tmp_path / "model.skops"
    proc = _run(
        "calibrate",
        "--method",
        "dirichlet",
        train,
        "--apply",
        test,
        "--output",
        out,
        "--save",
        model_path,
    )
    assert proc.returncode == 0, proc.stderr
    _check_round_trip(out, model_path, test_scores)
    html = tmp_path / "r.html"
    proc = _run("report", train, "--ood", test, "--output", html, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"Report written to {html.resolve()}"
    assert _parse(html).tables == 4


def test_calibrate_keeps_test_labels(tmp_path, capsys):
    y, logits = _scores()
    train = _csv(tmp_path / "train.csv", y[:40], logits[:40])
    test = _csv(tmp_path / "test.csv", y[40:], logits[40:])
    out = tmp_path / "out.npz"
    status = main(
        [
            "calibrate",
            "--method",
            "isotonic",
            "--logits",
            str(train),
            "--apply",
            str(test),
            "--output",
            str(out),
        ]
    )
    assert status == 0, capsys.readouterr().err
    written = read_scores(out)
    np.testing.assert_array_equal(written.y, y[40:])


def test_calibrate_labels_missing_a_class(tmp_path, capsys):
    # Four probability columns but the training labels hold only 0..2: the
    # calibrator cannot learn the fourth class, and the message says so.
    y, logits = _scores(k=4)
    keep = y < 3
    train = _csv(tmp_path / "train.csv", y[keep], softmax(logits[keep], axis=1))
    test = _csv(tmp_path / "test.csv", y, softmax(logits, axis=1))
    args = ["calibrate", "--method", "isotonic", str(train), "--apply", str(test)]
    status = main([*args, "--output", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert status == 2
    assert "3 distinct labels but scores has 4 columns" in err


def test_bad_file_exit_code_and_message(tmp_path, bad_file, capsys):
    case, path, kwargs, message = bad_file
    args = ["report", str(path), "--output", str(tmp_path / "r.html")]
    args += [f"--{k}={v}" for k, v in kwargs.items() if k in ("scores", "labels")]
    status = main(args)
    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skcalib report: error: ")
    if case == "too few rows":  # the command needs 20 rows
        assert "5 rows, too few (at least 20 needed)" in err
    else:
        assert re.search(message, err)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_bad_file_in_subprocess_has_no_traceback(tmp_path):
    proc = _run("report", tmp_path / "nothing.parquet")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"skcalib report: error: {tmp_path / 'nothing.parquet'}: no such file."
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["report", "--n-bootstrap", "0"], "expected a positive integer"),
        (["report", "--output", "r.pdf"], "--output r.pdf: unknown format"),
        (["report", "--ood", "x.csv"], "need a PREDICTIONS file"),
        (
            [
                "calibrate",
                "--method",
                "nope",
                "a.csv",
                "--apply",
                "b.csv",
                "--output",
                "c.csv",
            ],
            "invalid choice: 'nope'",
        ),
        (
            [
                "calibrate",
                "--method",
                "sigmoid",
                "a.csv",
                "--apply",
                "b.csv",
                "--output",
                "c.csv",
                "--save",
                "m.h5",
            ],
            "--save m.h5: unknown format",
        ),
    ],
)
def test_bad_usage(args, message, capsys):
    try:
        status = main(args)
    except SystemExit as exc:  # argparse
        status = exc.code
    assert status == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("module", ["rich", "matplotlib"])
def test_missing_dependency_message(module, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, module, None)  # "import rich" raises
    assert main(["report"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"skcalib report: error: this command needs {module}; install it with: "
        'pip install "skcalib[report]"'
    )


@pytest.mark.slow
def test_demo(tmp_path):
    out = tmp_path / "demo.html"
    proc = _run("report", "--output", out, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "demo: Gaussian naive Bayes" in proc.stdout
    page = _parse(out)
    assert page.tables == 4 and len(page.images) == 4
    # the overconfident model: the calibrators' table shows NLL falling
    nll = {
        cell.split()[0]: float(page.cells[i + 1])
        for i, cell in enumerate(page.cells)
        if cell.split()[:1] in (["none"], ["temperature"])
    }
    assert nll["temperature"] < nll["none"] / 2
