"""The ``sudata`` command line: it sits above the core (``sudata``), the pipeline (``orchestration``), the
portal and the tools, and gathers the sub-commands each of them registers through ``add_commands``."""
