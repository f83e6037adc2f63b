"""Test-suite configuration.

scikit-learn's array-API dispatch needs ``SCIPY_ARRAY_API=1`` in the environment
*before* scipy is imported; otherwise every array-API test skips itself. We set
it here as a fallback for local runs, but ``.ci/run`` and the README command
export it explicitly. With ``SKCALIB_REQUIRE_ARRAY_API=1`` (set by CI) the run
fails if an array-API test on array_api_strict or torch was skipped or none ran,
so a silent skip cannot turn CI green.
"""

import os
import sys

if "scipy" in sys.modules and os.environ.get("SCIPY_ARRAY_API") != "1":
    raise RuntimeError(
        "scipy was imported before tests/conftest.py could set SCIPY_ARRAY_API=1; "
        "export SCIPY_ARRAY_API=1 before running pytest."
    )
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# pytest-xdist already runs one worker per core: native thread pools inside each
# worker only oversubscribe the CPUs (LogisticRegression.fit was 30x slower on a
# loaded two-core machine). One thread per worker, unless the caller says more.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402

_ARRAY_API_LIBS = ("array_api_strict", "torch", "cupy")
_counts = {"passed": 0, "failed": 0, "skipped": 0, "required_skipped": []}


def pytest_configure(config):
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(autouse=True)
def _reset_array_api_strict_flags():
    """Undo array-API version pins a test (or scikit-learn < 1.8) left behind.

    scikit-learn 1.6's array-API checks pin array_api_strict to the 2023.12
    standard for the whole process, which would break later tests of kernels
    using 2024.12 functions (``take_along_axis``) in the same xdist worker.
    """
    yield
    module = sys.modules.get("array_api_strict")
    if module is not None:
        module.reset_array_api_strict_flags()


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None:
            continue
        values = [str(v) for v in callspec.params.values()]
        values += [
            str(x) for v in callspec.params.values() if isinstance(v, tuple) for x in v
        ]
        if any(lib in values for lib in _ARRAY_API_LIBS):
            item.add_marker(pytest.mark.array_api)


def _is_required(report):
    # cupy needs a GPU and is allowed to skip; the CPU namespaces are not,
    # unless a test declares (skcalib.utils._testing.requires_sklearn) that
    # the installed scikit-learn is too old for it.
    if "cupy" in report.nodeid:
        return False
    reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else ""
    return "needs scikit-learn >= " not in str(reason)


def pytest_runtest_logreport(report):
    if "array_api" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _counts[report.outcome] += 1
        if report.outcome == "skipped" and _is_required(report):
            _counts["required_skipped"].append(report.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.write_line(
        f"array-API tests: {_counts['passed']} passed, {_counts['failed']} failed, "
        f"{_counts['skipped']} skipped"
    )


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("SKCALIB_REQUIRE_ARRAY_API") != "1":
        return
    if getattr(session.config, "workerinput", None) is not None:
        return  # xdist worker: the controller aggregates the reports
    selected = session.config.option.markexpr or ""
    if "slow" in selected and "not slow" not in selected:
        return  # the slow step holds no array-API tests
    if _counts["passed"] == 0 or _counts["required_skipped"]:
        skipped = _counts["required_skipped"][:5]
        print(
            "\nSKCALIB_REQUIRE_ARRAY_API=1 but array-API tests did not all run: "
            f"{_counts['passed']} passed, skipped: {skipped}",
            file=sys.stderr,
        )
        session.exitstatus = 1


# --doctest-modules would import every tests/*/conftest.py as a module named
# "conftest" (a clash between directories); pytest still loads them as conftests.
collect_ignore_glob = ["tests/*/conftest.py"]
