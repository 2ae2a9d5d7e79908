"""`python -m remediator` is the same as the `remediator` console script."""

from remediator.cli import main

main()
