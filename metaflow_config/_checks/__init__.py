"""The live checks of a configuration against AWS and the metadata service (``check --aws``)."""
