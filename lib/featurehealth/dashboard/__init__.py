"""Voila dashboard of a run's published outputs (``notebooks/dashboard.ipynb``).

:mod:`.data` reads artifacts and never raises on a missing or corrupt file, :mod:`.views`
shapes them into tiles and tables, :mod:`.plots` draws the figures and :mod:`.app` assembles the
ipywidgets application. The dashboard only reads ``outputs/<profile>/``; it never recomputes the
pipeline.
"""
