"""Execute a project notebook the way a user would, inside a project copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parents[1]


def execute_notebook(project: Path, name: str, timeout: int = 300) -> nbformat.NotebookNode:
    """Run ``notebooks/<name>.ipynb`` with ``project`` as working directory; return it executed.

    Raises ``nbclient.exceptions.CellExecutionError`` naming the failing cell.
    """
    target = project / "notebooks" / f"{name}.ipynb"
    target.parent.mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "notebooks" / f"{name}.ipynb", target)
    notebook = nbformat.read(target, as_version=4)
    NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(project)}},
    ).execute()
    return notebook


def outputs_of_type(notebook: nbformat.NotebookNode, mime: str) -> int:
    """How many cell outputs carry ``mime`` (e.g. ``image/png``)."""
    return sum(
        mime in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
