"""The one way an analysis says it could not measure: `MeasurementUnavailable`, with the reason in its words."""
from __future__ import annotations


class MeasurementUnavailable(Exception):
    """A measurement cannot be made on this run (e.g. --no-probe, meta device); the message says why."""


__all__ = ["MeasurementUnavailable"]
