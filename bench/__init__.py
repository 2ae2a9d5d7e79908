"""The remediator benchmark: named scenarios, repeated runs, honest JSON results.

    python -m bench storm startup --repeat 3            # see bench/README.md
    python bench/compare.py OLD.json NEW.json

`loadgen.py` (one storm, its own CLI) and `hotspots.py` (py-spy summaries) are
the building blocks; `cli.py` runs scenarios (`scenarios/`) and reports them.
"""
