"""Dataset formats: the contracts (model), the registry, and one module per format family.

Exporters and importers work on plain data (`model.ExportSource`, `CvatAnnotations`) and
files in a directory; the request pipelines (backend/formats/pipeline*, workers) do the
zipping, unpacking, events and requests around them.
"""
