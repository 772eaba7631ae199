"""The three-stage method: planning, analysis, coding — and the runner that chains them."""

from papercoder.pipeline.context import PipelineOptions
from papercoder.pipeline.runner import run_pipeline, summary

__all__ = ["PipelineOptions", "run_pipeline", "summary"]
