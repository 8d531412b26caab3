"""Child processes a test stops with Ctrl-C (SIGINT), as a user would."""

from __future__ import annotations

import signal


def deliver_sigint() -> None:
    """preexec_fn for a child that must see SIGINT: unblocked, default action.

    A child inherits its parent's blocked and ignored signals through exec;
    a pytest-xdist worker may hold SIGINT in either state (the suite saw a
    simulator and `finops serve` ignore a test's Ctrl-C only under workers),
    and a user's terminal never does."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def signal_state(pid: int) -> str:
    """The child's blocked, ignored and caught signal masks (for a failure message)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return " ".join(line.strip() for line in f if line.startswith(("SigBlk", "SigIgn", "SigCgt")))
    except OSError:
        return "(no /proc status)"
