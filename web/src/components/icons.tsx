// Inline icons (no icon font, no emoji: they render the same everywhere). Decorative: the
// button around them carries the accessible name.

const base = { width: 16, height: 16, viewBox: "0 0 16 16", fill: "none", stroke: "currentColor", strokeWidth: 1.5, "aria-hidden": true } as const;

export const TrashIcon = () => (
  <svg {...base}>
    <path d="M2.5 4h11M6 4V2.5h4V4M4 4l.7 9.5h6.6L12 4M6.5 6.5v5M9.5 6.5v5" strokeLinecap="round" strokeLinejoin="round" />
  </svg>
);
export const PencilIcon = () => (
  <svg {...base}>
    <path d="M11 2.5l2.5 2.5L6 12.5 3 13l.5-3z" strokeLinejoin="round" />
  </svg>
);
export const FolderIcon = () => (
  <svg {...base}>
    <path d="M1.5 4.5v8h13v-6.5H7.5L6 4.5z" strokeLinejoin="round" />
  </svg>
);
export const FileIcon = () => (
  <svg {...base}>
    <path d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3" strokeLinejoin="round" />
  </svg>
);
export const CloseIcon = () => (
  <svg {...base}>
    <path d="M4 4l8 8M12 4l-8 8" strokeLinecap="round" />
  </svg>
);
