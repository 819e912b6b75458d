"""Inputs from the world and the layers read from them: files, the environment, profiles.

Above ``_model``: each layer turns what it reads (a profile file, the project file, the
``METAFLOW_*`` environment, values injected by code) into raw values by setting, with where each
came from; nothing here validates a value or knows of a snapshot.
"""
