"""Task media: uploads (CVAT-TUS), safe archive extraction, image decoding, sorting, chunks,
previews and data meta. Images only for now (video, shares and cloud storage come later).

Layout under `settings.data_dir/data/tasks/{task_id}/`:
    uploads/{session}/files/NAME   files received since Upload-Start (multipart or TUS)
    uploads/{session}/tus/FILE_ID  TUS uploads in progress
    build/{rq_id}/                 a task data set being built (never served)
    data/                          the task's data once attached (see storage.py)
"""
