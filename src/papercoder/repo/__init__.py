"""The generated repository after coding: static checks, sandboxed execution, and what its files look like."""

from papercoder.repo.checks import static_checks
from papercoder.repo.findings import Finding
from papercoder.repo.sandbox import Execution, allowed_env, choose_backend

__all__ = ["Execution", "Finding", "allowed_env", "choose_backend", "static_checks"]
