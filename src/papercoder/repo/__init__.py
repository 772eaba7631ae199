"""The generated repository after coding: static checks, sandboxed execution, and what its files look like."""

from papercoder.repo.checks import Finding, static_checks
from papercoder.repo.sandbox import Execution, execute, scrubbed_env

__all__ = ["Execution", "Finding", "execute", "scrubbed_env", "static_checks"]
