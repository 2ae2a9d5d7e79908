"""Diagnosis hints: explainable conclusions drawn from evidence and firing alerts.

No model, no scoring: each hint is a small pure function that either names
a likely cause, with a one-line explanation and the facts it used, or says
nothing. Rules may require or exclude hints (`when` / `unless`).
"""

from remediator.diagnosis.hints import (
    HINT_NAMES,
    Context,
    FiringAlert,
    Hint,
    Related,
    diagnose,
)

__all__ = ["HINT_NAMES", "Context", "FiringAlert", "Hint", "Related", "diagnose"]
