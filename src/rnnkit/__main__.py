"""``python -m rnnkit``: the same command line as the ``rnnkit`` script."""

import sys

from rnnkit.cli import main

sys.exit(main())
