// The workspace's in-page question (instead of the browser's prompt()): one labelled field,
// Enter answers (Shift+Enter is a new line in a text area), Esc or Cancel drops it, and the
// focus goes back to where it was (useDialog).
import { useCallback, useState } from "react";
import { useDialog } from "./useDialog";
import type { PromptRequest, Workspace } from "./workspace";

export function PromptDialog({ ws, request }: { ws: Workspace; request: PromptRequest }) {
  const ref = useDialog(ws, useCallback(() => { ws.prompt = null; }, [ws])); // prettier-ignore
  const [value, setValue] = useState(request.value);
  const invalid = request.input === "number" ? !(Number(value) >= (request.min ?? -Infinity)) : !value.trim();
  return (
    <dialog ref={ref} className="ws-dialog ws-prompt" aria-labelledby="prompt-title">
      <h2 id="prompt-title">{request.title}</h2>
      <form method="dialog" onSubmit={(e) => {
        if (invalid) { e.preventDefault(); return; }
        request.onSubmit(value);
      }}>
        <label className="ws-field">
          {request.label}
          {request.input === "textarea" ? (
            <textarea value={value} rows={3} autoFocus required onChange={(e) => setValue(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); e.currentTarget.form?.requestSubmit(); }
              }} />
          ) : (
            <input type={request.input} value={value} min={request.min} autoFocus required onChange={(e) => setValue(e.target.value)}
              onFocus={(e) => e.currentTarget.select()} />
          )}
        </label>
        <div className="ws-row">
          <span className="ws-grow" />
          <button type="button" onClick={() => ref.current?.close()}>Cancel</button>
          <button type="submit" disabled={invalid}>{request.submit}</button>
        </div>
      </form>
    </dialog>
  );
}
