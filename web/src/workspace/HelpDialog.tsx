import { useCallback } from "react";
import { SHORTCUTS } from "./shortcuts";
import { useDialog } from "./useDialog";
import type { Workspace } from "./workspace";

export function HelpDialog({ ws }: { ws: Workspace }) {
  const ref = useDialog(ws, useCallback(() => { ws.showHelp = false; }, [ws])); // prettier-ignore
  const groups = [...new Set(SHORTCUTS.map((s) => s.group))];
  return (
    <dialog ref={ref} className="ws-help" aria-labelledby="help-title">
      <h2 id="help-title">Keyboard shortcuts</h2>
      {ws.readOnly && <p className="ws-muted">The job is read-only for you now: shortcuts marked “edits” are off.</p>}
      {groups.map((g) => (
        <section key={g}>
          <h3>{g}</h3>
          <table>
            <tbody>
              {SHORTCUTS.filter((s) => s.group === g).map((s) => (
                <tr key={s.keys} className={s.edits && ws.readOnly ? "ws-off" : undefined}>
                  <th scope="row"><kbd>{s.keys}</kbd></th><td>{s.what}{s.edits && ws.readOnly ? " (edits: off)" : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
      <p>Mouse: wheel zooms at the pointer, drag on the background pans, drag an object to move it, drag its handles to reshape or rotate.</p>
      <form method="dialog"><button type="submit" autoFocus>Close</button></form>
    </dialog>
  );
}
