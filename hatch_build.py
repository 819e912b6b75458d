"""Build hook: declare the wheel's top-level names in ``top_level.txt`` of its ``.dist-info``.

Metaflow finds extension distributions by the top-level names they declare there (as setuptools
writes them); a distribution without it is found only by walking ``sys.path``, and not at all when
another extension distribution shares the same ``metaflow_extensions`` folder.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

TOP_LEVEL = "metaflow_config\nmetaflow_extensions\n"


class TopLevelHook(BuildHookInterface):  # type: ignore[misc]
    """Adds ``<name>-<version>.dist-info/top_level.txt`` to wheels, editable ones included."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Write the file and include it in the wheel (and in the editable wheel)."""
        if self.target_name != "wheel":
            return
        name = self.metadata.core.name.replace("-", "_")
        target = f"{name}-{self.metadata.version}.dist-info/top_level.txt"
        handle, path = tempfile.mkstemp(prefix="top_level-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(TOP_LEVEL)
        self._written = path  # removed once the wheel holds it (finalize)
        build_data["force_include"][path] = target
        build_data["force_include_editable"][path] = target

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the file :meth:`initialize` wrote: the wheel holds it now."""
        path = getattr(self, "_written", None)
        if path is not None:
            os.unlink(path)
            self._written = None
