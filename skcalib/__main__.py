"""``python -m skcalib``: the ``skcalib`` command."""

from skcalib.cli import main

raise SystemExit(main())
