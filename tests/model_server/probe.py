"""Waiting for a model server, in a process or a container, to answer `/ping`."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable


def wait_for_ping(port: int, timeout_s: float, still_running: Callable[[], None] = lambda: None) -> None:
    """Return once `/ping` on 127.0.0.1:`port` answers 200; `still_running` raises if the server died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        still_running()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"/ping did not answer 200 within {timeout_s} s")
