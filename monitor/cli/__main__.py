"""`python -m monitor.cli …` runs the command line (what the tests and the scheduler start)."""

from monitor.cli import main

main()
