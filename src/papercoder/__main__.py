"""``python -m papercoder`` runs the CLI."""

from papercoder._cli.main import main

if __name__ == "__main__":  # PDF ingest starts worker processes, which import this module again: they must not run
    main()
