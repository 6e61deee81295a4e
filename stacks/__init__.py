"""Stack composition: the config schema (``config.py``), the composition of components per
region (``platform.py``) and the program entry (``__main__.py``) that ``pulumi up`` runs."""
