// Frames from the job's chunks: one request brings chunk_size frames (CVAT's imageset chunk,
// a zip of stored images named by their place in the chunk), so stepping through a job costs
// a request per chunk instead of one per frame. The FrameCache still decodes frame by frame
// ahead of the player; frames of one chunk share its download. Video chunks (mp4) are not
// read here: those jobs load single frames.
import type { Loader } from "./frames";

/** The members of a zip whose entries are stored (not compressed), in their names' order. */
export function readStoredZip(buffer: ArrayBuffer): { name: string; data: Uint8Array }[] {
  const view = new DataView(buffer);
  // The end of central directory record: its signature, searched from the end (a comment
  // of up to 64 KiB may follow it).
  let eocd = -1;
  for (let i = buffer.byteLength - 22; i >= Math.max(0, buffer.byteLength - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a zip file");
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  const out: { name: string; data: Uint8Array }[] = [];
  const text = new TextDecoder();
  for (let k = 0; k < count; k++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error("bad zip central directory");
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extra = view.getUint16(at + 30, true);
    const comment = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = text.decode(new Uint8Array(buffer, at + 46, nameLength));
    if (method !== 0) throw new Error(`zip member ${name} is compressed (method ${method})`);
    const dataAt = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    out.push({ name, data: new Uint8Array(buffer, dataAt, size) });
    at += 46 + nameLength + extra + comment;
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const MIME: Record<string, string> = { jpeg: "image/jpeg", jpg: "image/jpeg", png: "image/png", webp: "image/webp", bmp: "image/bmp" };
const KEEP = 4; // chunks held (compressed bytes), most recent first out

/** Frames of the job from its chunks (`/api/jobs/{id}/data?type=chunk&index=N`). `frames`
 * is the job's frame list (chunk N holds its frames N*chunkSize ...). */
export function chunkLoader(jobId: number, frames: number[], chunkSize: number, fetcher: typeof fetch = fetch): Loader<ImageBitmap> {
  const position = new Map(frames.map((f, i) => [f, i]));
  const chunks = new Map<number, Promise<{ name: string; data: Uint8Array }[]>>();
  const chunk = (index: number) => {
    let hit = chunks.get(index);
    if (hit) {
      chunks.delete(index);
      chunks.set(index, hit);
      return hit;
    }
    // Not aborted with one frame's request: the chunk serves its neighbours too.
    hit = fetcher(`/api/jobs/${jobId}/data?type=chunk&index=${index}&quality=compressed`, { credentials: "same-origin" }).then(
      async (res) => {
        if (!res.ok) throw new Error(`chunk ${index}: HTTP ${res.status}`);
        return readStoredZip(await res.arrayBuffer());
      },
    );
    hit.catch(() => chunks.delete(index));
    chunks.set(index, hit);
    for (const old of chunks.keys()) if (chunks.size > KEEP) chunks.delete(old);
    return hit;
  };
  return async (frame, signal) => {
    const i = position.get(frame);
    if (i === undefined) throw new Error(`frame ${frame} is not in this job`);
    const members = await chunk(Math.floor(i / chunkSize));
    const member = members[i % chunkSize];
    if (!member) throw new Error(`frame ${frame} is missing from its chunk`);
    if (signal.aborted) throw new DOMException("aborted", "AbortError");
    const ext = member.name.split(".").pop()?.toLowerCase() ?? "";
    return createImageBitmap(new Blob([member.data as BlobPart], { type: MIME[ext] ?? "" }));
  };
}
