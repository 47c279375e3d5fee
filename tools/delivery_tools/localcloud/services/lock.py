"""The machine-wide start-up lock: one command at a time starts or stops the local cloud's services."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from delivery_tools.common.errors import ToolError

WAIT_SECONDS = 600.0
_POLL_SECONDS = 0.2


def _holder(lock_file: Path) -> str:
    try:
        return lock_file.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


@contextlib.contextmanager
def exclusive(lock_file: Path, what: str, say: Callable[[str], None], timeout: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the lock while `what` runs; if another process holds it, say so once, then wait for it.

    The kernel releases the lock when its holder exits, so a killed command never leaves it stuck.
    """
    descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    say(f"another command ({_holder(lock_file)}) is starting or stopping the local cloud: waiting")
                    announced = True
                if time.monotonic() > deadline:
                    raise ToolError(
                        f"the local cloud has been busy with {_holder(lock_file)} for {timeout:.0f} s: "
                        "let it finish (or stop it) and run the command again"
                    ) from None
                time.sleep(_POLL_SECONDS)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"pid {os.getpid()}: {what}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)
