"""``python -m metaflow_config``: the metaflow-config command (``show`` when run bare)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the ``metaflow-config`` command line; return the exit status."""
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
