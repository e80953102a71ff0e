-- Uploads may be videos, point clouds and manifests besides images and archives (#6).
ALTER TABLE upload_files DROP CONSTRAINT IF EXISTS upload_files_kind_check;
ALTER TABLE upload_files ADD CONSTRAINT upload_files_kind_check
    CHECK (kind IN ('image', 'archive', 'video', 'pointcloud', 'manifest'));
