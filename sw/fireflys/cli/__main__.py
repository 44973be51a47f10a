"""``python -m fireflys.cli``: the ``fireflys`` command."""

import sys

from fireflys.cli.main import main

sys.exit(main())
