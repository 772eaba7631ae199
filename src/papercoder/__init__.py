"""papercoder: turn a machine-learning paper into a runnable code repository.

The library mirrors the CLI: ``papercoder.paper.load_paper`` ingests a paper, ``papercoder.pipeline.run_pipeline``
runs planning, analysis and coding into a run directory.
"""

__version__ = "0.1.0"
