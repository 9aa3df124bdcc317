"""The machine-ready export (docs/export.md): items on laser beds as SVG, PDF, DXF or LightBurn
sheets, plus a manifest, packed as a zip. ``job.export_job`` is the use case; the modules below it are:

* ``bed``: the grid placement; ``sheet``: what a writer draws;
* ``artwork``: the template's artwork as engravable shapes (and score lines);
* ``regions``: each item's engraved regions, one clean outline per region (glyph outlines from the
  layout's glyph run, cached per glyph); ``outline``: clean outlines (skia-pathops) and DXF arcs;
* ``machines``: the workspace's machine profiles;
* ``svg``, ``pdf`` (``pdf_text`` for text mode), ``dxf``, ``lightburn`` (``.lbrn2`` projects with
  the profile's laser settings as layers): the writers (deterministic bytes);
  ``manifest``: manifest.json.
"""
