import { useEffect, useRef } from "react";
import type { Workspace } from "./workspace";

/** A modal <dialog> shown while mounted; closing it (Esc, a form[method=dialog]) calls
 * `onClose`. Shared by the workspace's help, filter and settings dialogs. */
export function useDialog(ws: Workspace, onClose: () => void) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    const close = () => {
      onClose();
      ws.notify();
    };
    d.addEventListener("close", close);
    return () => d.removeEventListener("close", close);
  }, [ws, onClose]);
  return ref;
}
