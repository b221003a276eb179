"""Command-line shim for the ``prepare_data`` package in ``scripts/prepare_data/``.

``python scripts/prepare_data.py --source ../shared/data-sources --out data [--overwrite|--check]``
puts ``scripts/`` first on ``sys.path`` and runs :func:`prepare_data.main`. (The package
directory takes precedence over this file of the same name when importing.)
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from prepare_data import main

    sys.exit(main())
