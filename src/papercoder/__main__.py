"""``python -m papercoder`` runs the CLI."""

from papercoder.cli import main

main()
