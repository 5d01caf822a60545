"""`python -m hfshim ARGS`: the same as the `hfshim` console script."""

import sys

from ._cli import main

sys.exit(main())
