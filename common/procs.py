"""Child processes that die with their parent (indexer workers, server processes)."""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``sig`` to this process when ``parent`` dies.

    Without it a SIGKILLed indexer left workers cleaning (or blocked) for as long as
    their file took, holding memory and, with the old flock, the index lock; and a
    killed server left its processes answering on the port.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig))
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
