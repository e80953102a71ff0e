"""The pure annotation domain: no IO, no asyncio, no clock; ids and time are passed in.

objects.py (CVAT-shaped shapes, tracks, tags and property patches), labels.py (label and
attribute specs, value rules), events.py (versioned events, encoding, upcasters),
commands.py (what users ask for), decisions.py (commands -> events), apply.py (events ->
objects, also on a partial mapping), annotations.py (the JobAnnotations aggregate),
interpolation.py (CVAT's track interpolation), validation.py, errors.py.
"""
