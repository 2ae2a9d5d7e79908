"""The benchmark tooling (bench/): it runs and reports honestly; figures are not asserted."""
