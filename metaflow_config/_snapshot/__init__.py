"""The snapshot of one resolution: ``Settings``, its sections and views, export, requirements.

Above ``_resolve``: what code reads (``settings.batch.job_queue``, ``settings[...]``,
``explain``, ``to_env``, ``require``, ``section``), built on a ``Resolution``.
"""
