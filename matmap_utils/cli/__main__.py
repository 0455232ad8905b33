"""``python -m matmap_utils.cli``: the ``matmap`` command."""

import sys

from matmap_utils.cli.main import main

sys.exit(main())
