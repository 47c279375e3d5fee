"""The import direction of docs/architecture.md, read from the source of every module of every part."""

import ast
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PARTS = ("config", "stacks", "ml_constructs", "model_server", "delivery_tools")
# Each source tree, and the parts its modules must never import.
FORBIDDEN = {
    "app.py": {"delivery_tools", "model_server"},
    "config": {"stacks", "ml_constructs", "delivery_tools", "model_server"},
    "stacks": {"delivery_tools", "model_server"},
    "ml_constructs": {"config", "stacks", "delivery_tools", "model_server"},
    "model_image/model_server": {"config", "stacks", "ml_constructs", "delivery_tools"},
}


def imported_parts(path: Path) -> set[str]:
    """The project's parts a module imports, at any depth (function-local imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(PARTS)
    return found


def sources(tree: str) -> list[Path]:
    root = PROJECT_ROOT / tree
    return [root] if root.is_file() else sorted(root.rglob("*.py"))


@pytest.mark.parametrize("tree", sorted(FORBIDDEN))
def test_no_part_imports_what_the_architecture_forbids(tree: str) -> None:
    files = sources(tree)
    assert files, f"{tree} has no Python source: the architecture table is out of date"
    violations = {
        f"{path.relative_to(PROJECT_ROOT)} imports {part}"
        for path in files
        for part in imported_parts(path) & FORBIDDEN[tree]
    }
    assert not violations


def test_the_reader_sees_imports_in_every_form(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "import config.settings\nfrom stacks import x\n"
        "def f():\n    from delivery_tools.common import y\n"
        "from . import model_server\nimport json\n"
    )
    assert imported_parts(module) == {"config", "stacks", "delivery_tools"}
