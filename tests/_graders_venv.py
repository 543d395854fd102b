"""The virtual environment of the real nbgrader and otter-grader (their pins clash with the book's).

``NMA_GRADERS_VENV`` when set (checked, used as it is), else ``.venv-graders/<hash of
requirements-graders.txt>`` in the repository, built from that file (the package index only) when it is
missing and reused by every later run. A file lock makes two builders (the test runner's early,
background build and the interop tests) build it once; the second waits for the first.

    python tests/_graders_venv.py    # build it now (scripts/run_tests.sh starts this in the background)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements-graders.txt"


def graders_venv() -> Path:
    """The tools' venv, built first if need be; its path."""
    given = os.environ.get("NMA_GRADERS_VENV")
    if given:
        missing = [tool for tool in ("nbgrader", "otter") if not (Path(given) / "bin" / tool).is_file()]
        fix = "pip install -r requirements-graders.txt into it"
        assert not missing, f"NMA_GRADERS_VENV={given} has no {missing}: {fix}"
        return Path(given)
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = ROOT / ".venv-graders" / digest
    venv.parent.mkdir(exist_ok=True)
    with FileLock(f"{venv}.lock"):
        if not (venv / ".complete").is_file():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            # --no-compile: the tools' kernels compile what they import; compiling every module of
            # every package up front would double the install's time.
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]
            pip.append("--disable-pip-version-check")
            subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
            (venv / ".complete").touch()
    return venv


if __name__ == "__main__":
    print(f"graders' venv ready: {graders_venv()}")
