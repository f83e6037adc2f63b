"""Read a model's scores and labels from CSV, Parquet, NPY or NPZ files; write them.

File conventions (the same for reading and writing):

- **CSV / Parquet**: one row per sample. The label column is ``labels`` (or
  the first of ``label``, ``labels``, ``y``, ``y_true``, ``target``); the
  score columns are ``scores`` (by default every other numeric column), one
  per class in the order of the sorted labels. A single score column is the
  probability (or decision value) of the positive class of a binary problem.
  When the labels are strings and the score columns are named after them, the
  columns are matched by name.
- **NPY**: a 2-D array; its last column holds the (numeric) labels, the
  others the scores. A file with exactly as many columns as expected scores
  (``n_scores``) holds scores only.
- **NPZ**: named arrays; labels in ``labels`` (or ``y``, ``y_true``,
  ``target``), scores in ``scores`` (or ``proba``, ``probabilities``,
  ``y_prob``, ``logits``). An array named ``logits`` holds logits.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..utils._validation import check_probabilities

__all__ = ["InputError", "ScoreData", "read_scores", "write_probabilities"]

FORMATS = (".csv", ".parquet", ".npy", ".npz")
LABEL_NAMES = ("label", "labels", "y", "y_true", "target")
SCORE_NAMES = ("scores", "proba", "probabilities", "y_prob", "logits")


class InputError(ValueError):
    """A user's file or option cannot be used; the message says why in one line.

    Examples
    --------
    >>> import os, tempfile
    >>> from skcalib.report import InputError, read_scores
    >>> path = os.path.join(tempfile.mkdtemp(), "scores.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("0.1,0.9")
    >>> try:
    ...     read_scores(path)
    ... except InputError as error:
    ...     print(error)
    scores.txt: unknown format '.txt'; use one of .csv, .parquet, .npy, .npz.
    >>> issubclass(InputError, ValueError)
    True
    """


@dataclass
class ScoreData:
    """Scores and labels read from a file.

    Attributes
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Probabilities (rows sum to one) or logits, one column per class; a
        single binary column ``p`` (or ``x``) becomes ``[1 - p, p]``
        (``[0, x]``).
    y : ndarray of shape (n_samples,) or None
        The labels, None when the file has none.
    classes : ndarray of shape (n_classes,) or None
        The class of each score column (None without labels, or when they
        were not matched with the columns).
    columns : list of str
        Names of the score columns as read.
    logits : bool
        Whether ``scores`` holds logits.
    source : str
        The file name, for messages.

    Examples
    --------
    Usually returned by :func:`read_scores`; ``y_index`` is the score column of
    each label:

    >>> import numpy as np
    >>> from skcalib.report import ScoreData
    >>> data = ScoreData(
    ...     scores=np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]),
    ...     y=np.array(["cat", "dog", "dog"]),
    ...     classes=np.array(["cat", "dog"]),
    ...     columns=["p_cat", "p_dog"],
    ...     logits=False,
    ...     source="scores.csv",
    ... )
    >>> data.y_index
    array([0, 1, 1])
    """

    scores: np.ndarray
    y: np.ndarray | None
    classes: np.ndarray | None
    columns: list
    logits: bool
    source: str

    @property
    def y_index(self):
        """Column index of each label."""
        return np.searchsorted(self.classes, self.y)


def _table(path, suffix):
    """A pandas DataFrame of a CSV or Parquet file."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(f"Reading {suffix} files needs pandas") from exc
    if suffix == ".csv":
        return pd.read_csv(path)
    try:
        return pd.read_parquet(path)
    except ImportError as exc:
        raise ImportError("Reading Parquet files needs pyarrow") from exc


def _split_names(scores):
    if scores is None:
        return None
    names = [s.strip() for s in scores.split(",") if s.strip()]
    if not names:
        raise InputError("--scores must name at least one column.")
    return names


def _from_table(df, source, labels, scores, require_labels):
    """(scores, y, names) of a DataFrame."""
    columns = [str(c) for c in df.columns]
    df.columns = columns
    if labels is not None and labels not in columns and require_labels:
        raise InputError(
            f"{source}: no label column {labels!r}; columns are {', '.join(columns)}."
        )
    if labels is None:
        label = next((c for c in LABEL_NAMES if c in columns), None)
    else:
        label = labels if labels in columns else None
    if label is None and require_labels:
        raise InputError(
            f"{source}: no label column (looked for {', '.join(LABEL_NAMES)}); name "
            f"it with --labels. Columns are {', '.join(columns)}."
        )
    names = _split_names(scores)
    if names is None:
        names = [
            c
            for c in columns
            if c != label and df[c].dtype.kind in "biuf" and df[c].dtype.kind != "b"
        ]
        if not names:
            raise InputError(f"{source}: no numeric score columns besides the labels.")
    missing = [c for c in names if c not in columns]
    if missing:
        raise InputError(
            f"{source}: score column(s) {', '.join(missing)} not found; columns are "
            f"{', '.join(columns)}."
        )
    for name in names:
        if df[name].dtype.kind not in "iuf":
            raise InputError(
                f"{source}: score column {name!r} is not numeric (dtype "
                f"{df[name].dtype})."
            )
    y = None if label is None else df[label].to_numpy()
    return df[names].to_numpy(dtype=float), y, names


def _from_npy(path, source, n_scores, require_labels):
    array = np.load(path, allow_pickle=False)
    if array.ndim != 2 or array.dtype.kind not in "iuf":
        raise InputError(
            f"{source}: an NPY file must hold a numeric 2-D array (scores, then a "
            f"label column), got shape {array.shape} of dtype {array.dtype}."
        )
    if n_scores is not None and array.shape[1] == n_scores:
        return array.astype(float), None, _numbered(n_scores)
    if array.shape[1] < 2 and (require_labels or n_scores is not None):
        raise InputError(
            f"{source}: an NPY file needs score columns and a last label column, got "
            f"shape {array.shape}."
        )
    names = _numbered(array.shape[1] - 1)
    return array[:, :-1].astype(float), array[:, -1], names


def _numbered(n):
    return [f"score_{j}" for j in range(n)]


def _first_key(files, wanted, defaults, source, *, required=True):
    if wanted is not None:
        if wanted not in files and not required:
            return None
        if wanted not in files:
            raise InputError(
                f"{source}: no array {wanted!r}; arrays are {', '.join(files)}."
            )
        return wanted
    return next((k for k in defaults if k in files), None)


def _from_npz(path, source, labels, scores, require_labels):
    with np.load(path, allow_pickle=False) as data:
        files = list(data.files)
        key = _first_key(files, scores, SCORE_NAMES, source)
        if key is None:
            raise InputError(
                f"{source}: no score array (looked for {', '.join(SCORE_NAMES)}); "
                f"arrays are {', '.join(files)}."
            )
        label = _first_key(files, labels, LABEL_NAMES, source, required=require_labels)
        if label is None and require_labels:
            raise InputError(
                f"{source}: no label array (looked for {', '.join(LABEL_NAMES)}); "
                f"arrays are {', '.join(files)}."
            )
        values = data[key]
        y = None if label is None else data[label]
    if values.dtype.kind not in "iuf":
        raise InputError(
            f"{source}: array {key!r} is not numeric (dtype {values.dtype})."
        )
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise InputError(
            f"{source}: array {key!r} must be 1-D or 2-D, got shape {values.shape}."
        )
    return values.astype(float), y, _numbered(values.shape[1]), key == "logits"


def _check_labels(y, n, source):
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise InputError(f"{source}: {n} rows of scores but labels of shape {y.shape}.")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise InputError(f"{source}: the labels contain NaN or inf.")
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
    elif y.dtype.kind == "O":
        if any(v is None or (isinstance(v, float) and v != v) for v in y):
            raise InputError(f"{source}: the labels contain missing values.")
        y = y.astype(str)
    return y


def _classes(y, scores, names, source):
    """Class of each score column, and the columns reordered to match."""
    k = max(scores.shape[1], 2)
    present = np.unique(y)
    if y.dtype.kind in "iu" and present.min() >= 0 and present.max() < k:
        return np.arange(k), scores
    if present.shape[0] == k:
        if y.dtype.kind not in "iuf" and set(present.tolist()) == set(names):
            scores = scores[:, [names.index(c) for c in present.tolist()]]
        return present, scores
    shown = ", ".join(map(str, present[:10].tolist()))
    if present.shape[0] > 10:
        shown += ", ..."
    raise InputError(
        f"{source}: the labels do not match the {scores.shape[1]} score column(s): "
        f"{present.shape[0]} distinct labels ({shown}); "
        f"expected integers in 0..{k - 1} or {k} distinct labels."
    )


def _not_probabilities(values):
    """Why ``values`` (which failed ``check_probabilities``) are not probabilities."""
    lo, hi = values.min(), values.max()
    if lo < 0 or hi > 1:
        why = f"scores outside [0, 1] (from {lo:.4g} to {hi:.4g}) are not probabilities"
    else:
        sums = values.sum(axis=1)
        row = int(np.argmax(np.abs(sums - 1)))
        why = f"probabilities must sum to one, but row {row} sums to {sums[row]:.6g}"
    return f"{why}; pass --logits if the scores are logits."


def _two_columns(scores, logits):
    """One binary score column -> two columns: ``[1 - p, p]`` or ``[0, x]``."""
    x = scores[:, 0]
    return np.stack([np.zeros_like(x) if logits else 1 - x, x], axis=1)


def read_scores(
    path,
    *,
    labels=None,
    scores=None,
    logits=False,
    require_labels=True,
    match_labels=True,
    n_scores=None,
    min_rows=1,
):
    """Read and validate the scores (and labels) of a model from a file.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.parquet``, ``.npy`` or ``.npz`` file (see the module
        docstring for the layout of each).
    labels : str, default=None
        Name of the label column (array for NPZ).
    scores : str, default=None
        Comma-separated names of the score columns (one array name for NPZ).
    logits : bool, default=False
        Whether the scores are logits; else they must be probabilities whose
        rows sum to one.
    require_labels : bool, default=True
        Whether a file without labels is an error.
    match_labels : bool, default=True
        Whether to match the labels with the score columns (``classes``);
        without it the labels are returned as read (``classes`` is None).
    n_scores : int, default=None
        Expected number of score columns (an NPY file with this many columns
        holds scores only).
    min_rows : int, default=1
        Fewest rows accepted.

    Returns
    -------
    data : ScoreData

    Raises
    ------
    InputError
        With a one-line message naming the file and the problem: missing file,
        unknown format, missing columns, NaN/inf or non-numeric scores, labels
        that do not match the score columns, probabilities that do not sum to
        one, too few rows.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skcalib.report import read_scores
    >>> path = os.path.join(tempfile.mkdtemp(), "scores.npz")
    >>> np.savez(path, proba=[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], y=[0, 1, 1])
    >>> data = read_scores(path)
    >>> data.classes, data.y_index
    (array([0, 1]), array([0, 1, 1]))
    """
    path = Path(path)
    source = path.name
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"{source}: unknown format {suffix or '(no extension)'!r}; use one of "
            f"{', '.join(FORMATS)}."
        )
    if not path.is_file():
        raise InputError(f"{path}: no such file.")
    try:
        if suffix in (".csv", ".parquet"):
            values, y, names = _from_table(
                _table(path, suffix), source, labels, scores, require_labels
            )
        elif suffix == ".npy":
            values, y, names = _from_npy(path, source, n_scores, require_labels)
        else:
            values, y, names, is_logits = _from_npz(
                path, source, labels, scores, require_labels
            )
            logits = logits or is_logits
    except (InputError, ImportError):
        raise
    except Exception as exc:  # parser errors of pandas / NumPy
        raise InputError(
            f"{source}: cannot be read ({type(exc).__name__}: {exc})"
        ) from None
    n = values.shape[0]
    if n < min_rows:
        raise InputError(f"{source}: {n} rows, too few (at least {min_rows} needed).")
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"{source}: score column {names[col]!r} has NaN or inf (row {row})."
        )
    if n_scores is not None and values.shape[1] != n_scores:
        raise InputError(
            f"{source}: {values.shape[1]} score column(s), expected {n_scores}."
        )
    if not logits:
        try:
            check_probabilities(
                values[:, 0] if values.shape[1] == 1 else values, name="the scores"
            )
        except ValueError:
            raise InputError(f"{source}: {_not_probabilities(values)}") from None
    y = None if y is None else _check_labels(y, n, source)
    classes = None
    if y is not None and match_labels:
        classes, values = _classes(y, values, names, source)
    if values.shape[1] == 1:
        values = _two_columns(values, logits)
    return ScoreData(values, y, classes, names, bool(logits), source)


def write_probabilities(path, proba, *, classes, y=None):
    """Write probabilities (and labels) in the format of ``path``'s extension.

    The file reads back with :func:`read_scores`: CSV/Parquet get one column
    ``proba_<class>`` per class and a ``label`` column, NPY the probabilities
    with the labels as last column (numeric labels only), NPZ the arrays
    ``proba`` and ``labels``.

    Parameters
    ----------
    path : str or path-like
    proba : ndarray of shape (n_samples, n_classes)
    classes : ndarray of shape (n_classes,)
    y : ndarray of shape (n_samples,), default=None
        Labels to write along (omitted when None).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skcalib.report import read_scores, write_probabilities
    >>> path = os.path.join(tempfile.mkdtemp(), "out.csv")
    >>> write_probabilities(path, np.array([[0.7, 0.3], [0.1, 0.9]]),
    ...                     classes=np.array([0, 1]), y=np.array([0, 1]))
    >>> read_scores(path).columns
    ['proba_0', 'proba_1']
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"{path.name}: unknown output format {suffix or '(no extension)'!r}; "
            f"use one of {', '.join(FORMATS)}."
        )
    proba = np.asarray(proba, dtype=float)
    if suffix == ".npz":
        arrays = {"proba": proba} if y is None else {"proba": proba, "labels": y}
        np.savez(path, **arrays)
    elif suffix == ".npy":
        if y is not None and np.asarray(y).dtype.kind not in "iuf":
            raise InputError(
                f"{path.name}: NPY files hold numeric labels only; write CSV, "
                "Parquet or NPZ for these labels."
            )
        np.save(path, proba if y is None else np.column_stack([proba, y]))
    else:
        import pandas as pd

        df = pd.DataFrame(proba, columns=[f"proba_{c}" for c in classes])
        if y is not None:
            df.insert(0, "label", y)
        if suffix == ".csv":
            df.to_csv(path, index=False)
        else:
            df.to_parquet(path, index=False)
