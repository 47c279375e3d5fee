import json
import subprocess
from pathlib import Path

import pytest

from delivery_tools.common.errors import ToolError
from delivery_tools.common.project import copy_project, find_project_root, load_module, set_model_version


def test_copy_has_the_project_files_shared_installs_and_no_build_outputs(tmp_path: Path) -> None:
    source = tmp_path / "source"
    files = {".gitignore": "cdk.out/\n", "app.py": "tracked", "new.py": "untracked", "cdk.out/x": "o"}
    for name, text in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    for shared in (".venv", "node_modules"):
        (source / shared).mkdir()
    subprocess.run(["git", "init", "-q"], cwd=source, check=True)
    subprocess.run(["git", "add", "app.py", ".gitignore"], cwd=source, check=True)

    copy = copy_project(tmp_path / "copy", source)

    assert sorted(p.name for p in copy.iterdir()) == [".gitignore", ".venv", "app.py", "new.py", "node_modules"]
    assert (copy / ".venv").resolve() == (source / ".venv").resolve()
    assert (copy / "new.py").read_text() == "untracked"


def test_the_model_version_is_changed_and_the_rest_of_the_metadata_kept(tmp_path: Path) -> None:
    metadata = tmp_path / "model_image" / "model" / "metadata.json"
    metadata.parent.mkdir(parents=True)
    metadata.write_text(json.dumps({"version": "1.0.0", "classes": ["setosa"]}))
    set_model_version(tmp_path, "2.0.0")
    assert json.loads(metadata.read_text()) == {"version": "2.0.0", "classes": ["setosa"]}


def test_the_project_root_is_the_nearest_directory_with_cdk_json(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text("{}")
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_project_root(tmp_path / "a" / "b") == tmp_path
    with pytest.raises(ToolError, match=r"no cdk\.json"):
        find_project_root(tmp_path.parent)


def test_a_script_with_dataclasses_loads_as_a_module(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "from __future__ import annotations\nfrom dataclasses import dataclass\n\n"
        "@dataclass(frozen=True)\nclass Dataset:\n    rows: int\n"
    )
    assert load_module(script, "loaded_training_script").Dataset(rows=3).rows == 3
