"""Cross-fitting through joblib's Dask backend gives the same models as locally."""

import numpy as np
import pytest

pytest.importorskip("dask")
joblib = pytest.importorskip("joblib")

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from skcalib.calibration import CalibratedClassifierCV  # noqa: E402
from skcalib.conformal import CrossConformalClassifier  # noqa: E402


def _tasks_run(client):
    """Task transitions counted by the cluster's workers so far."""
    counts = client.run(lambda dask_worker: dask_worker.state.transition_counter)
    return sum(counts.values())


@pytest.mark.slow  # workers import scikit-learn and skcalib: ~10-30 s
@pytest.mark.parametrize(
    ("make", "method"),
    [
        (
            lambda: CalibratedClassifierCV(
                LogisticRegression(), method="temperature", cv=3, n_jobs=2
            ),
            "predict_proba",
        ),
        (
            lambda: CrossConformalClassifier(LogisticRegression(), cv=3, n_jobs=2),
            "predict_set",
        ),
    ],
    ids=["CalibratedClassifierCV", "CrossConformalClassifier"],
)
def test_folds_run_on_the_cluster(cluster_client, make, method):
    X, y = make_classification(
        600, n_features=6, n_classes=3, n_informative=4, random_state=0
    )
    expected = getattr(make().fit(X, y), method)(X)
    before = _tasks_run(cluster_client)
    with joblib.parallel_backend("dask"):
        fitted = make().fit(X, y)
    assert _tasks_run(cluster_client) > before  # the folds ran on the workers
    np.testing.assert_allclose(getattr(fitted, method)(X), expected, rtol=1e-10)
