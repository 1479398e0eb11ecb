"""Sphinx configuration of wscodec's documentation site.

Built by the CI stage ``.ci/docs.sh`` (``sphinx-build -W``: any warning fails it) from the
Markdown pages in this directory (MyST) and the docstrings of the public API.  The API
reference is read from the pure-Python twins (``WSCODEC_NO_EXTENSIONS=1``): they are the
readable reference and behave exactly as the compiled ones, and the site needs no compiler.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("WSCODEC_NO_EXTENSIONS", "1")

import wscodec  # noqa: E402  (after the path and the switch above)

project = "wscodec"
author = "The wscodec developers"
copyright = "the wscodec developers"
# The version lives in one place, wscodec/__init__.py.
release = version = wscodec.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "requirements.txt"]

myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}

html_theme = "furo"
html_title = f"wscodec {release}"
