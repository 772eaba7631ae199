"""``python -m papercoder`` runs the CLI."""

from papercoder._cli.run import main

main()
