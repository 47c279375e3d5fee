#!/usr/bin/env python3
"""CDK entry point: read the configuration once, fail fast on bad values, then build one Stage per environment."""

import sys
from pathlib import Path

from config import ConfigError
from config.project import load_project_settings
from stacks.delivery_app import build, new_app

PROJECT_ROOT = Path(__file__).resolve().parent


def main() -> None:
    app = new_app()
    try:
        settings = load_project_settings(PROJECT_ROOT, app.node.try_get_context)
    except ConfigError as error:
        for problem in error.problems:
            print(f"configuration error: {problem}", file=sys.stderr)
        sys.exit(2)
    build(app, settings, image_directory=PROJECT_ROOT / "model_image")
    app.synth()


if __name__ == "__main__":
    main()
