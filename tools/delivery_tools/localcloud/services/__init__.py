"""The local cloud's processes (moto, the registry, dockerd), their supervisor and the machine-wide state."""
