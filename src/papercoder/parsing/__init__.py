"""Pure functions that read model output: JSON answers, code blocks, file names, SEARCH/REPLACE edits."""

from papercoder.parsing.code_extract import Block, extract_code, extract_yaml, fenced_blocks
from papercoder.parsing.edit_apply import EditFailure, EditResult, apply_edits, apply_to_repo, unified_diff
from papercoder.parsing.edits import Edit, EditParseError, parse_edits
from papercoder.parsing.json_extract import JSONExtractionError, canonical, extract_json, normalize_keys
from papercoder.parsing.paths import dedupe_paths, is_source_file, safe_repo_path

__all__ = [
    "Block",
    "Edit",
    "EditFailure",
    "EditParseError",
    "EditResult",
    "JSONExtractionError",
    "apply_edits",
    "apply_to_repo",
    "canonical",
    "dedupe_paths",
    "extract_code",
    "extract_json",
    "extract_yaml",
    "fenced_blocks",
    "is_source_file",
    "normalize_keys",
    "parse_edits",
    "safe_repo_path",
    "unified_diff",
]
