"""The stages: one module each (``ingest``, ``planning``, ``analysis``, ``coding``, ``baseline``, ``checks``,
``reproduce``, ``debugging``), their prompts beside them in ``prompts/<stage>/``; ``papercoder._methods`` orders
them into methods."""
