"""The solution-notebook conventions of docs/notebooks.md, as names the generator's modules share."""

from __future__ import annotations

import re

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
TODO = "# TODO:"
MARKER_LIKE = re.compile(r"^\s*#\s*(begin|end)\s*solutions?\b", re.IGNORECASE)

SETUP_PLACEHOLDER = "git+REPO_URL@BRANCH"
NOTEBOOK_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")

# The block a student notebook's "use" cell (a later cell reading an exercise's function or class)
# starts with: this comment, the import, a blank line, one `name = not_done(...)` line per name it assigns,
# `require_done("<exercise>", <object>)`, a blank line.
GUARD_COMMENT = (
    "# Until Exercise '{exercise}' is done, this cell stops here and its results are placeholders."
)
GUARD_IMPORT = "from helpers.placeholders import not_done, require_done"
LINE_LENGTH = 110  # pyproject.toml's ruff line-length: the stubs stay within it

# Ids of the cells the generator adds (a solution cell may not use them).
BADGE_CELL_ID = "colab-badge"  # the student notebook's "Open in Colab" link
LINKS_CELL_ID = "student-notebook-links"
STUB_SUFFIX = "-starting-code"  # the book page's starting-code cell: the exercise cell's id + this


class NotebookError(Exception):
    """A solution notebook or _config.yml breaks a rule of docs/notebooks.md; the message says the fix."""
