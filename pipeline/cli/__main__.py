"""``python -m pipeline.cli`` is the ``loginsights`` command."""

from pipeline.cli import main

main()
