"""featurehealth: reliability analytics for product features.

Telemetry -> validation -> feature-day star schema -> early-warning risk model -> drift
monitoring -> dashboard. Notebooks under ``notebooks/`` narrate the pipeline; all logic lives in
this package. Submodules are imported lazily by their users so that a notebook only pays for what
it touches.
"""

__version__ = "0.1.0"
