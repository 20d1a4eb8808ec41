"""What the benchmark scripts do with the servers they start."""

import os
import signal
import subprocess


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then after 15 s the whole process group it was started in (start_new_session)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group this run started
        process.wait()
