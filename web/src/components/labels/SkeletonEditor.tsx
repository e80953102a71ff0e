// A skeleton's points (sublabels) and edges: drag the points in a 100 x 100 box (or focus
// one and move it with the arrow keys, Shift for 5), name them, join them by pairs.
// A saved skeleton is shown read-only: the server does not change a skeleton's points.

import { useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import { freePair, newKey, withoutPoint, type LabelDraft, type PointDraft } from "./model";
import { CloseIcon } from "../icons";

interface Props {
  label: LabelDraft;
  labelName: string; // for control labels
  onChange: (label: LabelDraft) => void;
  readOnly: boolean;
}

const clamp = (v: number) => Math.round(Math.max(0, Math.min(100, v)) * 10) / 10;

export function SkeletonEditor({ label, labelName, onChange, readOnly }: Props) {
  const svgRef = useRef<SVGSVGElement>(null);
  const [dragging, setDragging] = useState<number | null>(null);
  const points = label.points;

  const setPoint = (index: number, change: Partial<PointDraft>) =>
    onChange({ ...label, points: points.map((p, i) => (i === index ? { ...p, ...change } : p)) });

  const toBox = (e: PointerEvent) => {
    const svg = svgRef.current;
    const matrix = svg?.getScreenCTM();
    if (!svg || !matrix) return null;
    const pt = new DOMPoint(e.clientX, e.clientY).matrixTransform(matrix.inverse());
    return { x: clamp(pt.x), y: clamp(pt.y) };
  };

  const onKey = (index: number) => (e: KeyboardEvent) => {
    const step = e.shiftKey ? 5 : 1;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step],
    };
    const move = moves[e.key];
    if (!move || readOnly) return;
    e.preventDefault();
    setPoint(index, { x: clamp(points[index].x + move[0]), y: clamp(points[index].y + move[1]) });
  };

  const addPoint = () => {
    const n = points.length + 1;
    let name = `point ${n}`;
    for (let i = n; points.some((p) => p.name === name); i++) name = `point ${i + 1}`;
    onChange({ ...label, points: [...points, { key: newKey(), name, color: "#b3b3b3", x: 50, y: 50 }] });
  };

  const pair = freePair(label);
  const pointName = (i: number) => points[i]?.name || `point ${i + 1}`;

  return (
    <fieldset className="skeleton-editor">
      <legend>Skeleton of {labelName}</legend>
      {readOnly && <p className="muted small">The points of a saved skeleton cannot be changed.</p>}
      <div className="skeleton-layout">
        <svg
          ref={svgRef}
          viewBox="0 0 100 100"
          className="skeleton-canvas"
          role="group"
          aria-label={`Layout of the skeleton ${labelName}`}
          onPointerMove={(e) => {
            if (dragging === null) return;
            const at = toBox(e);
            if (at) setPoint(dragging, at);
          }}
          onPointerUp={() => setDragging(null)}
          onPointerLeave={() => setDragging(null)}
        >
          <rect x="0" y="0" width="100" height="100" className="skeleton-bg" />
          {label.edges.map(([a, b], i) =>
            points[a] && points[b] ? (
              <line key={i} x1={points[a].x} y1={points[a].y} x2={points[b].x} y2={points[b].y} className="skeleton-edge" />
            ) : null,
          )}
          {points.map((p, i) => (
            <g key={p.key}>
              <circle
                cx={p.x}
                cy={p.y}
                r={3}
                fill={p.color || "#b3b3b3"}
                className={`skeleton-point${readOnly ? "" : " movable"}`}
                tabIndex={readOnly ? -1 : 0}
                role={readOnly ? "img" : "slider"}
                aria-roledescription={readOnly ? undefined : "movable point"}
                aria-valuemin={readOnly ? undefined : 0}
                aria-valuemax={readOnly ? undefined : 100}
                aria-label={`Point ${pointName(i)}`}
                aria-valuetext={`x ${p.x}, y ${p.y}`}
                aria-valuenow={readOnly ? undefined : p.x}
                onKeyDown={onKey(i)}
                onPointerDown={(e) => {
                  if (readOnly) return;
                  (e.target as Element).setPointerCapture?.(e.pointerId);
                  setDragging(i);
                }}
              />
              <text x={p.x + 4} y={p.y - 3} className="skeleton-text">
                {pointName(i)}
              </text>
            </g>
          ))}
        </svg>
        <div className="skeleton-lists">
          <h3>Points</h3>
          <ol className="plain-list">
            {points.map((p, i) => (
              <li key={p.key} className="row">
                <input
                  aria-label={`Name of point ${i + 1} of ${labelName}`}
                  value={p.name}
                  readOnly={readOnly}
                  onChange={(e) => setPoint(i, { name: e.target.value })}
                />
                <input
                  type="color"
                  aria-label={`Colour of point ${pointName(i)}`}
                  value={p.color || "#b3b3b3"}
                  disabled={readOnly}
                  onChange={(e) => setPoint(i, { color: e.target.value })}
                />
                {!readOnly && (
                  <button type="button" className="icon-button" aria-label={`Remove point ${pointName(i)}`} onClick={() => onChange(withoutPoint(label, i))}>
                    <CloseIcon />
                  </button>
                )}
              </li>
            ))}
          </ol>
          {!readOnly && (
            <button type="button" onClick={addPoint}>
              + Add point
            </button>
          )}
          <h3>Edges</h3>
          {label.edges.length === 0 && <p className="muted small">No edges: join points by pairs.</p>}
          <ul className="plain-list">
            {label.edges.map(([a, b], i) => (
              <li key={i} className="row">
                {[a, b].map((end, side) => (
                  <select
                    key={side}
                    aria-label={`${side ? "End" : "Start"} of edge ${i + 1}`}
                    value={end}
                    disabled={readOnly}
                    onChange={(e) => {
                      const edges = label.edges.map((edge, j) => {
                        if (j !== i) return edge;
                        const next: [number, number] = [...edge];
                        next[side] = Number(e.target.value);
                        return next;
                      });
                      onChange({ ...label, edges });
                    }}
                  >
                    {points.map((_, j) => (
                      <option key={j} value={j}>
                        {pointName(j)}
                      </option>
                    ))}
                  </select>
                ))}
                {!readOnly && (
                  <button
                    type="button"
                    className="icon-button"
                    aria-label={`Remove edge ${pointName(a)} – ${pointName(b)}`}
                    onClick={() => onChange({ ...label, edges: label.edges.filter((_, j) => j !== i) })}
                  >
                    <CloseIcon />
                  </button>
                )}
              </li>
            ))}
          </ul>
          {!readOnly && (
            <button type="button" disabled={!pair} onClick={() => pair && onChange({ ...label, edges: [...label.edges, pair] })}>
              + Add edge
            </button>
          )}
        </div>
      </div>
    </fieldset>
  );
}
