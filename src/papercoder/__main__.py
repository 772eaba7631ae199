"""``python -m papercoder`` runs the CLI."""

from papercoder._cli.main import main

main()
