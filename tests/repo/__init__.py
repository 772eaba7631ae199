"""Tests of papercoder.repo: static checks, sandbox, repository files, edits on disk."""
