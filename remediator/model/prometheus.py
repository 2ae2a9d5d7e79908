"""What a Prometheus instant query answers, and the error when it cannot.

Shared vocabulary, not the client: the `Querier` interface
(`remediator.model.abc`) returns `Sample`s and raises `PrometheusError`, so the
precondition checker and any implementation agree on both without the layers
above the client importing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class PrometheusError(RuntimeError):
    """Prometheus did not answer, or answered with an error; the message says which."""


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector (or a scalar, with no labels)."""

    labels: Mapping[str, str]
    value: float
