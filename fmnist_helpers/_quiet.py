"""Import TensorFlow without the C++ start-up log lines it writes to file descriptor 2."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def _silenced_stderr_fd() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration, then restore it."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_backend_quietly() -> None:
    """Import Keras' backend once, hiding TensorFlow's start-up chatter.

    TensorFlow writes "Could not find cuda drivers", CPU-feature notes and a failed
    ``cuInit`` from C++ straight to file descriptor 2 while it loads and finds its
    devices; a notebook would show them as cell output. Later C++ log lines (such as
    TensorFlow 2.21's harmless "NodeDef mentions attribute use_unbounded_threadpool"
    while fitting) are turned off with ``TF_CPP_MIN_LOG_LEVEL=3`` unless you set that
    variable yourself. Python exceptions and warnings are untouched.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow" or "tensorflow" in sys.modules:
        return
    with _silenced_stderr_fd():
        import tensorflow as tf

        tf.config.list_physical_devices()
