"""The `samhandling` command line."""
