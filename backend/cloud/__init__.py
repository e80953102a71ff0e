"""Cloud storages (CVAT's /api/cloudstorages): a small port over buckets (`port.py`), its
S3 adapter (`s3.py`, AWS S3 and S3-compatible endpoints), credentials encrypted at rest
(`credentials.py`) and fetching a task's files from a bucket (`fetch.py`)."""
