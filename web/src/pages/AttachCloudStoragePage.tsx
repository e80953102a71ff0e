// /cloudstorages/create: attach an S3 bucket; then its page (status and content).

import { Link, useNavigate } from "react-router-dom";
import { cloudStorages } from "../api/resources";
import { CloudStorageForm } from "../components/CloudStorageForm";
import { cloudBody } from "../components/cloudForm";
import { useNotify } from "../components/Notifications";
import { paths } from "../components/paths";

export default function AttachCloudStoragePage() {
  const navigate = useNavigate();
  const notify = useNotify();
  return (
    <div className="page narrow-page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={paths.cloudStorages}>Cloud storages</Link> / <span aria-current="page">New</span>
      </nav>
      <h1>Attach a cloud storage</h1>
      <p className="muted">
        An S3 bucket (AWS or an S3-compatible server such as MinIO). The credentials are stored encrypted and never shown
        again.
      </p>
      <CloudStorageForm
        submitLabel="Attach"
        onCancel={() => navigate(paths.cloudStorages)}
        onSubmit={async (form) => {
          const storage = await cloudStorages.create(cloudBody(form));
          notify.success(`Cloud storage "${storage.display_name}" attached`);
          navigate(paths.cloudStorage(storage.id));
        }}
      />
    </div>
  );
}
