"""What a traceback's frames show of their locals: ``pytest -l``, Sentry and rich tracebacks.

Each of those prints every local of every frame an exception passed through, by its ``repr``;
``traceback.TracebackException(capture_locals=True)`` is the standard library's way. A secret
held there as plain text (not as a masking ``SecretText``) is shown to whoever reads the report.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable

import metaflow_config
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
    """The library's locals (``file:function:name``) whose ``repr`` shows ``secret``.

    In the frames ``exc`` passed through, its cause's and its context's; each as the frame holds
    it, and as ``TracebackException(capture_locals=True)`` captures it. The caller's own frames
    (a test's, which holds what it set up) are not the library's business.
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
        for frame, _ in traceback.walk_tb(error.__traceback__):
            code = frame.f_code
            if _LIBRARY in code.co_filename:
                found.extend(
                    f"{code.co_filename}:{code.co_name}:{name}"
                    for name, value in frame.f_locals.items()
                    if secret in repr(value)
                )
    chained: list[traceback.TracebackException | None] = [
        traceback.TracebackException.from_exception(exc, capture_locals=True)
    ]
    while chained:
        captured = chained.pop()
        if captured is None:
            continue
        chained += [captured.__cause__, captured.__context__]
        for summary in captured.stack:
            if _LIBRARY in summary.filename:
                found.extend(
                    f"{summary.filename}:{summary.name}:{name} (captured)"
                    for name, shown in (summary.locals or {}).items()
                    if secret in shown
                )
    return found


#: the library's own source files (the installed package: the clone's, in its editable install)
_LIBRARY = os.path.dirname(metaflow_config.__file__) + os.sep
