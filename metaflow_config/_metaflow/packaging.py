"""Metaflow's code package on Python 3.12 and later: no gzip traceback from an abandoned archive.

``MetaflowPackage._make`` writes ``with backend.create() as archive:``, and the backend's
``__enter__`` calls ``create()`` again: the first tar.gz archive is abandoned unclosed. Python
3.12 and later finalize a ``GzipFile`` by closing it, and the garbage collector may close its
buffer first, so the command (``step-functions create``, ``argo-workflows create``, ``run``)
ends with ``Exception ignored in: <gzip ...>`` and a ``ValueError`` traceback. The handler closes
the archive a second ``create()`` would abandon; the archive Metaflow keeps is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["create"]


def create(original: Callable[..., Any], self: Any) -> Any:
    """``TarPackagingBackend.create`` of ``metaflow.packaging_sys.tar_backend``, closing first."""
    abandoned = getattr(self, "_archive", None)
    if abandoned is not None:
        abandoned.close()  # the GzipFile and its buffer, in order
    return original(self)
