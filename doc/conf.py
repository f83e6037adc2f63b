"""Sphinx configuration of the skcalib documentation.

Build (warnings are errors; the build machine is offline, so nothing here may
need the network)::

    SCIPY_ARRAY_API=1 python -m sphinx -W -b html doc doc/_build/html
"""

import os
import sys
import warnings
from pathlib import Path

# The array-API dispatch of SciPy/scikit-learn must be configured before SciPy
# is imported (the gallery's array-API example relies on it).
os.environ.setdefault("SCIPY_ARRAY_API", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# Document the working tree even without an editable install.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib

matplotlib.use("Agg")

import skcalib

# -- Project information -----------------------------------------------------

project = "skcalib"
author = "The skcalib developers"
copyright = "The skcalib developers"  # noqa: A001
release = skcalib.__version__
version = ".".join(release.split(".")[:2])

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_templates",
    "Thumbs.db",
    ".DS_Store",
    "**.ipynb_checkpoints",
]
root_doc = "index"
default_role = "literal"
# No network at build time: no intersphinx, no link checking, no remote images.

# -- autodoc / autosummary ---------------------------------------------------

autosummary_generate = True  # stub pages go to doc/generated/ (:toctree: generated/)
autosummary_imported_members = False
autodoc_typehints = "none"
autodoc_member_order = "groupwise"

# -- numpydoc ----------------------------------------------------------------

# The class template lists methods through autosummary; numpydoc's own member
# tables would describe the same objects a second time (duplicate-object
# warnings), so they are off.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- sphinx-gallery ----------------------------------------------------------

warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend",
)

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "ignore_pattern": r"__init__\.py",
    # Estimator families, then metrics and data sets; the quick start sits at
    # the top level.
    "subsection_order": [
        "../examples/calibration",
        "../examples/conformal",
        "../examples/ood",
        "../examples/uncertainty",
        "../examples/metrics",
        "../examples/datasets",
    ],
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": "True",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "remove_config_comments": True,
    # "Examples using ..." mini-galleries on the API pages.
    "doc_module": ("skcalib",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skcalib": None},
    "inspect_global_variables": False,
    "show_memory": False,
    "min_reported_time": 1,
    # Every example must run; a failing example fails the build.
    "only_warn_on_example_error": False,
    "abort_on_example_error": False,
}

# -- HTML output -------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skcalib {release}"
html_theme_options = {
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": [], "install": []}
html_show_sourcelink = True
html_last_updated_fmt = None


# -- Members inherited from scikit-learn ---------------------------------------


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out members defined by scikit-learn (``get_params``, ``score``,
    ``set_fit_request`` ...): they are documented by scikit-learn, and their
    docstrings point at labels of scikit-learn's own documentation. Applies to
    the autodoc member lists and to the autosummary method tables alike.
    """
    module = getattr(obj, "__module__", None)
    if isinstance(module, str) and module.split(".")[0] in {"sklearn", "builtins"}:
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
