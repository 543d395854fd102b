"""The repository address, set in one place: ``repository.url`` and ``.branch`` in ``_config.yml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from notebook_gen.rules import NotebookError


@dataclass(frozen=True)
class Repository:
    url: str  # https://github.com/OWNER/REPO
    branch: str
    owner: str
    name: str

    def colab_url(self, path_in_repo: str) -> str:
        return f"https://colab.research.google.com/github/{self.owner}/{self.name}/blob/{self.branch}/{path_in_repo}"

    @property
    def pip_address(self) -> str:
        return f"git+{self.url}@{self.branch}"


def find_config(root: Path) -> Path:
    """The book's _config.yml: at the project root, else in book/."""
    for candidate in (root / "_config.yml", root / "book" / "_config.yml"):
        if candidate.is_file():
            return candidate
    raise NotebookError(
        f"no _config.yml in {root} or {root / 'book'}: create one with a `repository:` block "
        "(url: https://github.com/OWNER/REPO, branch: main); the notebooks take the address from it."
    )


def read_repository(root: Path) -> Repository:
    """`repository.url` and `repository.branch` from _config.yml, checked to be a GitHub address."""
    path = find_config(root)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise NotebookError(f"{path} is not valid YAML ({error}): fix it, then run this again.") from None
    repo = config.get("repository") if isinstance(config, dict) else None
    url = repo.get("url") if isinstance(repo, dict) else None
    branch = repo.get("branch") if isinstance(repo, dict) else None
    if not isinstance(url, str) or not isinstance(branch, str) or not branch.strip():
        raise NotebookError(
            f"{path} needs `repository.url` and `repository.branch` (e.g. url: "
            "https://github.com/OWNER/REPO, branch: main): add them, then run this again."
        )
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", url.strip())
    if not match:
        raise NotebookError(
            f"{path}: repository.url {url!r} is not a GitHub address https://github.com/OWNER/REPO; "
            "Colab opens notebooks from GitHub only: set it to the repository's GitHub address."
        )
    owner, name = match.groups()
    return Repository(f"https://github.com/{owner}/{name}", branch.strip(), owner, name)
