"""Helpers every tool shares: one helper per job (commands, docker, the CDK CLI, images, HTTP, the project)."""
