"""The stages' prompt templates, beside them in ``prompts/<stage>/`` (``papercoder.templating`` loads them).

A user can override any template by pointing ``PAPERCODER_PROMPTS`` at a folder with the same layout
(``system.j2``, ``planning/plan.j2``, ...): files found there win, the rest come from the package.
"""

from __future__ import annotations

from pathlib import Path

from papercoder.templating import Templates

render = Templates(Path(__file__).parent / "prompts", "PAPERCODER_PROMPTS").render
