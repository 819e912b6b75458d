"""One resolution: merge the layers with provenance, validate every value at once, derive.

Above ``_sources``: reads layers, gives a ``Resolution`` (values and origins by setting) or a
``ConfigError`` with every problem; knows nothing of snapshots, scopes or the command line.
"""
