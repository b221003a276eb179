"""``python -m basingov.cli``: the same as the ``basingov`` console script."""

from basingov.cli import main

main()
