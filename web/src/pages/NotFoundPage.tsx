import { Link } from "react-router-dom";
import { paths } from "../components/paths";

/** A wrong address, or (with `what`) an object that does not exist or that this user may
 * not see: the server answers both with 404, so the page does not tell them apart. */
export default function NotFoundPage({ what, back }: { what?: string; back?: { to: string; label: string } }) {
  if (what) {
    return (
      <div className="page">
        <h1>{what} not found</h1>
        <p>
          It does not exist, or you are not allowed to see it.{" "}
          {back && <Link to={back.to}>Back to the {back.label.toLowerCase()}</Link>}
        </p>
      </div>
    );
  }
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
