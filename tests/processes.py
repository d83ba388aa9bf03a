"""Ending the processes the tests and benchmarks start: by their own PID, never by name."""

import signal
import subprocess


def end_process(
    process: "subprocess.Popen[bytes] | None",
    sig: int = signal.SIGTERM,
    timeout: float = 10.0,
) -> None:
    """Send ``sig`` to a process still running, wait ``timeout`` s, then kill it and reap it."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
