from pathlib import Path

import pytest

from delivery_tools.common.base_images import default_base_image
from delivery_tools.common.errors import ToolError


def test_the_default_base_image_is_read_from_the_model_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "model_image").mkdir()
    (tmp_path / "model_image" / "Dockerfile").write_text("# x\nARG BASE_IMAGE=python:3.13-slim\nFROM ${BASE_IMAGE}\n")
    assert default_base_image(tmp_path) == "python:3.13-slim"


def test_the_project_dockerfile_names_a_default(project_root: Path) -> None:
    assert default_base_image(project_root).startswith("python:")


def test_a_dockerfile_without_a_default_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "model_image").mkdir()
    (tmp_path / "model_image" / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ToolError, match=r"Dockerfile has no `ARG BASE_IMAGE=<image>`"):
        default_base_image(tmp_path)
