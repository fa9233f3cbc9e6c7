"""`python -m dealerpolicy` runs the command line."""

from dealerpolicy.cli.main import main

main()
