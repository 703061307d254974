"""The Dagster code location of Su Data Foundation (definitions assembled in orchestration.definitions)."""
