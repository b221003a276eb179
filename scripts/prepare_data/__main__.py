"""``python -m prepare_data`` (with ``scripts/`` on ``sys.path``): run the command line."""

import sys

from .build import main

sys.exit(main())
