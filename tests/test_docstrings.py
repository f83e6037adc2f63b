"""Every public name has a runnable Examples section and an API reference entry.

The public names are read from the ``__all__`` of every public package: those
that :mod:`skcalib.utils.discovery` lists, those that ``skcalib/__init__.py``
lists in ``_SUBMODULES``, and their public (non-underscore) submodules that
define ``__all__`` (``skcalib.conformal.scores``, ``skcalib.utils.discovery``
...). Names added later are covered without editing this file.

The ``>>>`` snippets of the getting-started and migration pages run too (marked
slow).
"""

import doctest
import functools
import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import skcalib
from skcalib.utils import discovery

DOC = Path(__file__).resolve().parents[1] / "doc"
API_RST = DOC / "api.rst"
# Pages whose ``>>>`` snippets run as doctests, and what each needs installed.
DOC_PAGES = {
    "getting_started.rst": (),
    "migration/sklearn.rst": (),
    "migration/mapie.rst": ("mapie",),
    "migration/netcal.rst": (),
    "migration/pytorch_ood.rst": (),
}


def _public_modules():
    roots = dict.fromkeys([*discovery._PUBLIC_PACKAGES, *skcalib._SUBMODULES])
    found, todo = {}, [f"skcalib.{name}" for name in roots]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            module = importlib.import_module(name)
        except ImportError:  # a package still being written, or an optional extra
            continue
        if hasattr(module, "__all__"):
            found[name] = module
        if hasattr(module, "__path__"):
            todo.extend(
                f"{name}.{info.name}"
                for info in pkgutil.iter_modules(module.__path__)
                if not info.name.startswith("_")
            )
    return found


def _public_names():
    names = []
    for module_name, module in sorted(_public_modules().items()):
        for name in module.__all__:
            obj = getattr(module, name)
            # Classes and functions; constants (strings, dicts) have no examples.
            if inspect.isclass(obj) or callable(obj):
                names.append((module_name, name, obj))
    return names


PUBLIC_NAMES = _public_names()
IDS = [f"{module}.{name}" for module, name, _ in PUBLIC_NAMES]


def _examples_section(doc):
    """The text of the numpydoc ``Examples`` section of ``doc`` ('' if none)."""
    lines = inspect.cleandoc(doc).splitlines()
    stripped = [line.strip() for line in lines]
    for i in range(len(lines) - 1):
        if stripped[i] == "Examples" and re.fullmatch(r"-{3,}", stripped[i + 1]):
            section = []
            for j in range(i + 2, len(lines)):
                is_header = j + 1 < len(lines) and re.fullmatch(
                    r"-{3,}", stripped[j + 1]
                )
                if is_header and stripped[j]:
                    break
                section.append(lines[j])
            return "\n".join(section)
    return ""


@functools.cache
def _doctests_of(module_name):
    """Doctests that ``pytest --doctest-modules`` collects from a module."""
    module = sys.modules[module_name]
    return {test.name: test for test in doctest.DocTestFinder().find(module)}


def _autosummary_entries(text):
    """Fully qualified names listed in the autosummary directives of ``text``."""
    entries, current, in_autosummary = set(), None, False
    for line in text.splitlines():
        match = re.match(r"\.\. currentmodule::\s*(\S+)", line)
        if match:
            current, in_autosummary = match.group(1), False
        elif re.match(r"\.\. autosummary::", line):
            in_autosummary = True
        elif in_autosummary and line.startswith((" ", "\t")):
            entry = line.strip()
            if entry and not entry.startswith(":"):
                entry = entry.lstrip("~")
                qualified = entry.startswith("skcalib.")
                entries.add(entry if qualified else f"{current}.{entry}")
        elif line.strip():
            in_autosummary = False
    return entries


@functools.cache
def _api_reference_entries():
    return frozenset(_autosummary_entries(API_RST.read_text(encoding="utf-8")))


def test_public_packages_found():
    modules = _public_modules()
    for package in discovery._PUBLIC_PACKAGES:
        assert f"skcalib.{package}" in modules
    assert "skcalib.conformal.scores" in modules
    assert "skcalib.utils.estimator_checks" in modules


def test_examples_section_parser():
    doc = """Summary.

    Parameters
    ----------
    x : int

    Examples
    --------
    >>> 1 + 1
    2

    References
    ----------
    >>> not an example
    """
    section = _examples_section(doc)
    assert ">>> 1 + 1" in section
    assert "not an example" not in section
    assert _examples_section("Summary.\n\n>>> 1\n1\n") == ""


def test_autosummary_parser():
    text = """
.. currentmodule:: skcalib.metrics

.. autosummary::
   :toctree: generated/

   brier_score
   ~skcalib.ood.KNNDetector

Some text naming not_an_entry.

   indented_but_not_an_entry
"""
    assert _autosummary_entries(text) == {
        "skcalib.metrics.brier_score",
        "skcalib.ood.KNNDetector",
    }


@pytest.mark.parametrize("module_name, name, obj", PUBLIC_NAMES, ids=IDS)
def test_public_name_has_runnable_examples(module_name, name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{module_name}.{name} has no docstring"
    examples = _examples_section(doc)
    assert ">>>" in examples, (
        f"{module_name}.{name} has no numpydoc 'Examples' section with a >>> line"
    )
    # The examples must be collected by ``pytest --doctest-modules``, which
    # only looks at objects defined in (not imported into) a module.
    defined_in = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", name)
    test = _doctests_of(defined_in).get(f"{defined_in}.{qualname}")
    assert test is not None and test.examples, (
        f"the examples of {module_name}.{name} are not collected as a doctest "
        f"of {defined_in}"
    )


@pytest.mark.parametrize("module_name, name, obj", PUBLIC_NAMES, ids=IDS)
def test_public_name_in_api_reference(module_name, name, obj):
    entries = _api_reference_entries()
    assert f"{module_name}.{name}" in entries, (
        f"{module_name}.{name} is missing from the autosummary entries of "
        f"doc/api.rst (under '.. currentmodule:: {module_name}')"
    )


def test_doc_pages_listed():
    """Every page with ``>>>`` snippets is run by test_doc_page_snippets."""
    with_snippets = {
        str(path.relative_to(DOC))
        for path in DOC.rglob("*.rst")
        if not path.relative_to(DOC).parts[0].startswith(("_", "generated", "auto_"))
        and ">>> " in path.read_text(encoding="utf-8")
    }
    assert with_snippets <= set(DOC_PAGES)


@pytest.mark.slow
@pytest.mark.parametrize("page", sorted(DOC_PAGES))
def test_doc_page_snippets(page):
    for requirement in DOC_PAGES[page]:
        pytest.importorskip(requirement)
    result = doctest.testfile(
        str(DOC / page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        report=False,
    )
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} snippet(s) of doc/{page} failed"
