"""``python -m consumer``: same as the ``consumer`` console script."""

import sys

from consumer.admin.cli import main

sys.exit(main())
