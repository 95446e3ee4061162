"""The boundaries the code is organised by: what may import what."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "src" / "advanced_dl"


def _imports(path) -> list[tuple[str, bool]]:
    """(module, at top level?) for every import in a file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in top))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in top) for alias in node.names)
    return found


def test_features_and_nab_load_without_kedro_mlflow_or_tensorflow():
    code = (
        "import sys\n"
        "import advanced_dl.features.series, advanced_dl.features.text\n"
        "import advanced_dl.features.mixture, advanced_dl.features.graph\n"
        "import advanced_dl.nab.detector, advanced_dl.nab.selection\n"
        "print(sorted(m for m in ('kedro', 'mlflow', 'tensorflow') if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_serving_imports_no_pipeline_code():
    for path in (PACKAGE / "serving").glob("*.py"):
        modules = [module for module, _ in _imports(path)]
        assert not [m for m in modules if m.startswith("advanced_dl.pipelines")], path.name


def test_pipelines_import_serving_only_to_build_the_served_model():
    for path in (PACKAGE / "pipelines").rglob("*.py"):
        for module, top_level in _imports(path):
            if module.startswith("advanced_dl.serving"):
                assert not top_level, f"{path.name} imports {module} at module level"
                assert path.name == "nodes.py", path


def test_pipeline_modules_wire_only():
    for path in (PACKAGE / "pipelines").glob("*/pipeline.py"):
        tree = ast.parse(path.read_text())
        functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
        assert functions == ["create_pipeline"], path


def test_dask_tasks_import_no_kedro_or_mlflow():
    # Workers unpickle these by name: they must not need a Kedro session or MLflow run.
    for path in (PACKAGE / "fanout" / "cluster.py", *(PACKAGE / "nab").glob("*.py")):
        for module, _ in _imports(path):
            assert not module.startswith(("kedro", "mlflow")), f"{path.name} imports {module}"
    # A sweep trial runs a pipeline's nodes on a worker, but logs nothing there.
    for module, _ in _imports(PACKAGE / "fanout" / "trials.py"):
        assert not module.startswith("mlflow"), f"trials.py imports {module}"


def test_nab_package_stands_alone():
    # One home for NAB: both NAB pipelines, the Dask task and the served detector
    # call it; it calls none of them.
    for path in (PACKAGE / "nab").glob("*.py"):
        for module, top_level in _imports(path):
            assert not module.startswith(("advanced_dl.pipelines", "advanced_dl.serving")), (
                f"{path.name} imports {module}"
            )
            if module.startswith(("tensorflow", "keras")):
                assert not top_level, f"{path.name} imports {module} at module level"
