import subprocess
from pathlib import Path

from tooling.project_copy import copy_project


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
