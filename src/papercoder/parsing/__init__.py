"""Pure functions that read model output: JSON answers, code blocks, file names, edits."""
