"""``python -m asynclab`` is the ``asynclab`` command."""
import sys

from .cli import main

sys.exit(main())
