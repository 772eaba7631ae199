"""CLI command groups, each a ``register(app)`` that adds its commands to the ``papercoder`` typer app."""
