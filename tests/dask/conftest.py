"""A real Dask cluster (worker processes on loopback), once per test module."""

import pytest

pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster_client():
    """A ``distributed.Client`` on a 2-process ``LocalCluster``, closed afterwards."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
