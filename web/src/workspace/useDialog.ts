import { useEffect, useRef } from "react";
import type { Workspace } from "./workspace";

/** A modal <dialog> shown while mounted; closing it (Esc, a form[method=dialog]) calls
 * `onClose`. The focus goes back to where it was (the canvas, a sidebar button) when the
 * dialog goes. Shared by the workspace's help, filter, settings and prompt dialogs. */
export function useDialog(ws: Workspace, onClose: () => void) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!d.open) d.showModal();
    const close = () => {
      onClose();
      ws.notify();
    };
    d.addEventListener("close", close);
    return () => {
      d.removeEventListener("close", close);
      const lost = !document.activeElement || document.activeElement === document.body || d.contains(document.activeElement);
      if (lost && before?.isConnected) before.focus({ preventScroll: true });
    };
  }, [ws, onClose]);
  return ref;
}
