"""The notebook generator behind ``scripts/make_notebooks.py`` (the command line).

- ``rules``: the conventions of docs/notebooks.md as names (markers, tags, cell ids) and the error.
- ``repository``: the repository address from ``_config.yml`` (the Colab links and the install line).
- ``exercise_cells``: one exercise cell -> its student version (stubs); the guard of the cells using it.
- ``markdown_rules``: markdown every client renders (no MyST-only syntax), and the exercises' hints.
- ``notebooks``: one solution notebook, checked -> its student notebook and its book page.
- ``book_cells``: what differs on a book page: revealed solutions ("Show solution"), figure captions as
  myst-nb figure options, hidden claim cells.

The exercises themselves, and the notebook each belongs to, come from ``helpers.exercises``.
"""
