"""`python -m samhandling.cli` runs the command line."""

from samhandling.cli.main import main

main()
