"""A student's first session on Colab, reproduced on this machine.

Colab ships Python with torch, numpy, scipy, matplotlib, requests, tqdm and ipykernel, and no helpers.
The test builds that: a fresh venv (`python3 -m venv`, no system site packages) with only those
packages, at the versions requirements.txt pins, and a kernel running from it. It clones this
repository's HEAD and points the student notebook's setup cell at the clone (`git+file://...`) instead
of GitHub. Then, as Colab's Run All would:

- the setup cell installs the package, and `pip freeze` afterwards differs from before only by
  additions (no preinstalled package changes version);
- the notebook runs to its first exercise and stops there with NotImplementedError naming it;
- with a stray `helpers.py` next to the notebook, the setup cell says which file hides the package.

It needs the package index (as `make test` does anyway) and takes minutes, most of them installing torch.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers import exercises

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "01_decoding"
COLAB_PACKAGES = ("torch", "numpy", "scipy", "matplotlib", "requests", "tqdm", "ipykernel")
CELL_TIMEOUT = 600


def _pinned(names) -> list[str]:
    """`name==version` for each of `names`, as requirements.txt pins it."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = line.strip()
    missing = [name for name in names if name not in pins]
    assert not missing, f"requirements.txt pins no version of {missing}"
    return [pins[name] for name in names]


def _run(command, **kwargs) -> str:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    what = " ".join(map(str, command))
    assert done.returncode == 0, f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """The Colab-like venv, a kernelspec running from it, and a clone of this repository's HEAD."""
    home = tmp_path_factory.mktemp("colab")
    python3 = shutil.which("python3")
    assert python3, "python3 is not on PATH"
    venv = home / "venv"
    _run([python3, "-m", "venv", str(venv)], timeout=300)
    python = venv / "bin" / "python"
    # --no-compile: byte-compiling every module of these packages (torch's thousands) would double the
    # install's time; the kernel compiles what it imports, as a first import on Colab would.
    preinstall = [str(python), "-m", "pip", "install", "--quiet", "--no-compile", *_pinned(COLAB_PACKAGES)]
    _run(preinstall, timeout=1500)
    kernels = home / "kernels" / "colab-like"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python",
    }))
    clone = home / "clone"
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], timeout=300)
    commit = _run(["git", "-C", str(clone), "rev-parse", "HEAD"]).strip()
    return {"home": home, "python": python, "kernels": kernels.parent, "address": f"git+file://{clone}@{commit}"}


def _freeze(python: Path) -> list[str]:
    return _run([str(python), "-m", "pip", "freeze", "--all"]).splitlines()


def _student_notebook(address: str) -> nbformat.NotebookNode:
    """The student notebook with its setup cell installing from `address` instead of GitHub."""
    nb = nbformat.read(ROOT / "book/student" / f"{NOTEBOOK}.ipynb", as_version=4)
    setup = next(cell for cell in nb.cells if "setup" in cell.metadata.get("tags", []))
    installs = re.findall(r'"(git\+https://[^"]+)"', setup.source)
    assert len(installs) == 1, f"the setup cell should install one git address, found {installs}"
    setup.source = setup.source.replace(installs[0], address)
    return nb


def _client(nb, colab, cwd: Path, monkeypatch) -> NotebookClient:
    # The kernel sees none of this checkout: no PYTHONPATH, started in a folder of its own.
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv("NMA_DECODING_DATA", "synthetic")
    monkeypatch.setenv("NMA_DECODING_PROGRESS", "0")
    monkeypatch.setenv("NMA_DECODING_CACHE", str(colab["home"] / "cache"))
    monkeypatch.setenv("MPLBACKEND", "agg")
    manager = KernelManager(
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(colab["kernels"])]), kernel_name="colab-like"
    )
    return NotebookClient(nb, km=manager, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(cwd)}})


@pytest.mark.timeout(3600)
def test_setup_cell_installs_only_additions_and_the_notebook_stops_at_the_first_exercise(colab, monkeypatch):
    before = _freeze(colab["python"])
    assert not any(line.lower().startswith("nma-decoding-helpers") for line in before)
    nb = _student_notebook(colab["address"])
    work = colab["home"] / "work"
    work.mkdir()
    client = _client(nb, colab, work, monkeypatch)
    stopped = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                stopped = (index, error.ename, error.evalue)
                break
    after = _freeze(colab["python"])
    changed = sorted(set(before) - set(after))
    assert not changed, f"the setup cell changed preinstalled packages: {changed}"
    added = sorted(set(after) - set(before))
    assert any(line.lower().startswith("nma-decoding-helpers") for line in added), added

    first = exercises.in_notebook(NOTEBOOK)[0]
    exercise_index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("exercise") == first.name)
    assert stopped is not None, "the notebook ran to its end: the first exercise did not stop it"
    index, ename, evalue = stopped
    assert index > exercise_index and ename == "NotImplementedError", stopped
    assert f"Exercise '{first.name}' is not done yet" in evalue, evalue
    check_text = "".join(o.get("text", "") for o in nb.cells[exercise_index + 1].outputs)
    assert f"{first.name}: not done yet" in check_text, check_text


@pytest.mark.timeout(1800)
def test_a_stray_helpers_file_is_named_by_the_setup_cell(colab, monkeypatch):
    work = colab["home"] / "stray"
    work.mkdir()
    (work / "helpers.py").write_text("# a student's own helpers\n")
    nb = _student_notebook(colab["address"])
    setup_index = next(i for i, c in enumerate(nb.cells) if "setup" in c.metadata.get("tags", []))
    client = _client(nb, colab, work, monkeypatch)
    with client.setup_kernel(), pytest.raises(CellExecutionError) as caught:
        client.execute_cell(nb.cells[setup_index], setup_index)
    assert caught.value.ename == "ImportError"
    assert f"{work / 'helpers.py'} is not this module's helpers package" in caught.value.evalue
    assert "rename it" in caught.value.evalue
