import { Link } from "react-router-dom";
import { paths } from "../components/paths";

export default function NotFoundPage() {
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. Go to the <Link to={paths.tasks}>tasks</Link> or the{" "}
        <Link to={paths.projects}>projects</Link>.
      </p>
    </div>
  );
}
