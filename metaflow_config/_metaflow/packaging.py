"""Metaflow's code package on Python 3.12 and later: no gzip traceback from an abandoned archive.

``MetaflowPackage._make`` writes ``with backend.create() as archive:``, and the backend's
``__enter__`` calls ``create()`` again: the first tar.gz archive is abandoned unclosed. Python
3.12 and later finalize a ``GzipFile`` by closing it, and the garbage collector may close its
buffer first, so the command (``step-functions create``, ``argo-workflows create``, ``run``)
ends with ``Exception ignored in: <gzip ...>`` and a ``ValueError`` traceback. The wrapper closes
the archive a second ``create()`` would abandon; the archive Metaflow keeps is unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["patch_tar_backend"]


def patch_tar_backend(module: ModuleType) -> None:
    """Wrap ``TarPackagingBackend.create`` of ``metaflow.packaging_sys.tar_backend``."""
    backend = getattr(module, "TarPackagingBackend", None)
    original: Callable[..., Any] | None = getattr(backend, "create", None)
    if backend is None or original is None:
        return

    @functools.wraps(original)
    def create(self: Any) -> Any:
        abandoned = getattr(self, "_archive", None)
        if abandoned is not None:
            abandoned.close()  # the GzipFile and its buffer, in order
        return original(self)

    backend.create = create
