"""``python -m metaflow_config``: the metaflow-config command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from ._show import show_main

    return show_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
