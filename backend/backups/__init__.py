"""Task and project backups in CVAT's backup layout (cvat/apps/engine/backup.py, version 1.0).

A task backup is a zip:

    task.json          the task's fields, labels (by name), data settings and jobs
    annotations.json   one CVAT LabeledData per job (labels and attributes by name)
    data/              the task's media: each frame's original file under its frame name,
                       its context images in CVAT's related_images/ layout, manifest.jsonl;
                       a video task: the whole video (kept only with use_cache: a video
                       task built without it cannot be backed up, and says so)
    history/job_N.jsonl  (Vellum, only with `?with_history=true`) job N's event log

A project backup holds project.json (fields and labels) and one task backup per task under
`task_N/`, in task id order.

Vellum keeps only the frames a task shows (start/stop/step applied at creation), so data/
holds exactly those frames, and task.json says so in a `vellum` section (`frames`: the
frame names in order). A restore then builds the data from data/ in that order without
cutting again, and records the original start/stop/step and sorting. A CVAT backup has no
such section: its data/ files are cut with its data settings, as CVAT does. CVAT itself
ignores the section (it drops unknown keys), so it would cut a Vellum backup again: a task
created with start/stop/step would come back into CVAT with fewer frames.

Event history (`with_history`). The log is the audit trail, and a restore cannot replay
the original events as they are: their ids (labels, attributes, objects, the job itself)
belong to the server they came from, and the projections would apply them. So a restore
keeps them as an *imported history record*: before the annotations are imported, each
restored job's stream gets one `HistoryRestored` event per original event, in the original
order, whose data is the original entry verbatim (type, version, data, actor id and
username, source, op id, recorded_at, revision) and whose metadata says who restored it
(`source: "restore"`, `restored_by`; no `actor`: nobody's undo stack holds them). The
annotations then arrive as one `import` event. `GET
/api/jobs/{id}/history` therefore lists the original events first (type `HistoryRestored`,
with who did what and when on the original server), then the import. These records are
foreign to the annotation aggregate and the projections (they only advance the stream's
revision), so the restored state is exactly the imported annotations; undo never reaches
past the import into the restored record.
"""
