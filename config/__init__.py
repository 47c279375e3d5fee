"""Typed, validated per-environment settings, read once in app.py and passed down as props."""

from config.loader import ConfigError, load_settings
from config.settings import AppSettings, EnvironmentSettings, GitHubSettings, LifecycleSettings

__all__ = ["AppSettings", "ConfigError", "EnvironmentSettings", "GitHubSettings", "LifecycleSettings", "load_settings"]
