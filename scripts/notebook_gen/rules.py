"""The solution-notebook conventions of docs/notebooks.md, as names the generator's modules share."""

from __future__ import annotations

import re

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
TODO = "# TODO:"
MARKER_LIKE = re.compile(r"^\s*#\s*(begin|end)\s*solutions?\b", re.IGNORECASE)

SETUP_PLACEHOLDER = "git+REPO_URL@BRANCH"
NOTEBOOK_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")

# First line of the placeholder block at the top of a student exercise cell: this comment, the import, a
# blank line, one `name = helpers.placeholders.not_done(...)` line per name, a blank line.
PLACEHOLDER_COMMENT = (
    "# Until this exercise is done, the names it assigns are placeholders that say so when used."
)
PLACEHOLDER_IMPORT = "import helpers.placeholders"
LINE_LENGTH = 110  # pyproject.toml's ruff line-length: the stubs stay within it

# Ids of the cells the generator adds (a solution cell may not use them).
BADGE_CELL_ID = "colab-badge"
LINKS_CELL_ID = "student-notebook-links"
STUB_SUFFIX = "-starting-code"  # the book page's starting-code cell: the exercise cell's id + this


class NotebookError(Exception):
    """A solution notebook or _config.yml breaks a rule of docs/notebooks.md; the message says the fix."""
