"""What a traceback's frames show of their locals: ``pytest -l``, Sentry and rich tracebacks.

Each of those prints every local of every frame an exception passed through, by its ``repr``;
``traceback.TracebackException(capture_locals=True)`` is the standard library's way. A secret
held there as plain text (not as a masking ``SecretText``) is shown to whoever reads the report.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from metaflow_config import ConfigError


def raised(call: Callable[[], object]) -> ConfigError:
    """The ``ConfigError`` ``call`` raises, caught here: its traceback starts in this frame.

    So the test's own frame, which may hold the secret it set up, is none of the traceback's.
    """
    try:
        call()
    except ConfigError as exc:
        return exc
    msg = f"{call!r} raised no ConfigError"
    raise AssertionError(msg)


def frames_showing(exc: BaseException, secret: str) -> list[str]:
    """The locals (``file:function:name``) whose ``repr`` shows ``secret``, in ``exc``'s frames.

    Its cause and context too; and the text of the traceback with its locals captured, as a
    whole (``TracebackException``), where it shows ``secret``.
    """
    found: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        pending += [error.__cause__, error.__context__]
        tb = error.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            for name, value in tb.tb_frame.f_locals.items():
                if secret in repr(value):
                    found.append(f"{code.co_filename}:{code.co_name}:{name}")
            tb = tb.tb_next
    captured = traceback.TracebackException.from_exception(exc, capture_locals=True)
    if secret in "".join(captured.format()):
        found.append("TracebackException(capture_locals=True)")
    return found
