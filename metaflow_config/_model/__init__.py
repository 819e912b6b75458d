"""What a setting is: the declaration mechanism, the value kinds, the values, the table.

The lowest private layer of the package (above ``errors`` and ``_display`` only): nothing here
reads the world or knows of layers, resolutions or snapshots.
"""
