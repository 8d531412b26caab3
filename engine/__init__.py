"""finops engine: runs the SQL analyzers on DuckDB, renders reports, serves them.

The engine never imports click: the CLI (engine/cli.py) imports the engine.
"""

__version__ = "0.1.0"
