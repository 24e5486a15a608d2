"""``python -m evalkit``: the same as the ``evalkit`` command (for machines where the console
script is not on the PATH, e.g. evalkit used from a source checkout)."""

from evalkit.cli import main

main()
