// The labels editor of a project or task, as CVAT has it: a "Constructor" tab (a card per
// label: name, colour, type, attributes, skeleton) and a "Raw" tab (the labels as JSON).
// It edits drafts; the page decides when to save (createEdits / patchEdits in model.ts).
// JSON typed on the Raw tab counts as soon as it parses, so a Save never misses it; while it
// does not parse, `onRawError` tells the page, which refuses to save.

import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { LABEL_TYPES, type LabelType } from "../../api/types";
import { useConfirm } from "../Modal";
import { AttributeEditor } from "./AttributeEditor";
import { defaultPosition, fromRaw, newAttribute, newKey, newLabel, toRaw, type LabelDraft } from "./model";
import { SkeletonEditor } from "./SkeletonEditor";
import { TrashIcon } from "../icons";

interface Props {
  value: LabelDraft[];
  onChange: (labels: LabelDraft[]) => void;
  /** Ids of the saved labels (their attributes cannot be removed, nor their skeletons changed). */
  savedIds?: ReadonlySet<number>;
  /** Why the Raw tab's JSON cannot be used (null when it can, or when not on Raw). */
  onRawError?: (message: string | null) => void;
}

type Tab = "constructor" | "raw";

export function LabelsEditor({ value, onChange, savedIds = new Set(), onRawError }: Props) {
  const [tab, setTab] = useState<Tab>("constructor");
  const [raw, setRaw] = useState("");
  const [rawError, setRawError] = useState<string | null>(null);
  const tabs = useRef<Record<Tab, HTMLButtonElement | null>>({ constructor: null, raw: null });
  // The labels the Raw text last gave: any other value came from outside (Discard, a reload
  // after Save) and replaces the text.
  const fromText = useRef<LabelDraft[] | null>(null);
  const opened = useRef<LabelDraft[]>(value); // what Reset goes back to
  const reportRef = useRef(onRawError);
  reportRef.current = onRawError;
  useEffect(() => () => reportRef.current?.(null), []); // gone: nothing pending

  useEffect(() => {
    if (tab !== "raw" || value === fromText.current) return;
    opened.current = value;
    setRaw(toRaw(value));
    setRawError(null);
    reportRef.current?.(null);
  }, [value, tab]);

  /** Use `text` if it parses; `show` puts the reason on screen when it does not. */
  const take = (text: string, show: boolean): boolean => {
    try {
      const labels = fromRaw(text);
      fromText.current = labels;
      onChange(labels);
      setRawError(null);
      onRawError?.(null);
      return true;
    } catch (e) {
      const message = (e as Error).message;
      if (show) setRawError(message);
      onRawError?.(message);
      return false;
    }
  };
  const applyRaw = () => take(raw, true);

  const open = (next: Tab) => {
    if (next === tab) return;
    if (next === "raw") {
      setRaw(toRaw(value));
      setRawError(null);
      fromText.current = opened.current = value;
    } else if (!applyRaw()) {
      return; // stay on Raw until the JSON is right
    }
    setTab(next);
    tabs.current[next]?.focus();
  };

  const onTabKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      open(tab === "raw" ? "constructor" : "raw");
    }
  };

  return (
    <section className="labels-editor" aria-label="Labels editor">
      <div role="tablist" aria-label="Labels editor mode" className="tabs" onKeyDown={onTabKey}>
        {(["constructor", "raw"] as const).map((t) => (
          <button
            key={t}
            ref={(el) => {
              tabs.current[t] = el;
            }}
            type="button"
            role="tab"
            id={`labels-tab-${t}`}
            aria-selected={tab === t}
            aria-controls={`labels-panel-${t}`}
            tabIndex={tab === t ? 0 : -1}
            onClick={() => open(t)}
          >
            {t === "constructor" ? "Constructor" : "Raw"}
          </button>
        ))}
      </div>
      {tab === "constructor" ? (
        <div role="tabpanel" id="labels-panel-constructor" aria-labelledby="labels-tab-constructor">
          <Constructor value={value} onChange={onChange} savedIds={savedIds} />
        </div>
      ) : (
        <div role="tabpanel" id="labels-panel-raw" aria-labelledby="labels-tab-raw" className="raw-panel">
          <label className="field">
            <span>Labels as JSON (the API's label list)</span>
            <textarea
              className="code"
              rows={16}
              spellCheck={false}
              value={raw}
              aria-invalid={rawError ? true : undefined}
              onChange={(e) => {
                setRaw(e.target.value);
                take(e.target.value, false);
              }}
            />
          </label>
          {rawError && (
            <p className="error-text" role="alert">
              {rawError}
            </p>
          )}
          <div className="row">
            <button type="button" className="primary" onClick={applyRaw}>
              Apply JSON
            </button>
            <button
              type="button"
              onClick={() => {
                fromText.current = opened.current;
                setRaw(toRaw(opened.current));
                setRawError(null);
                onRawError?.(null);
                onChange(opened.current);
              }}
            >
              Reset
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

function Constructor({ value, onChange, savedIds }: Required<Omit<Props, "onRawError">>) {
  const confirm = useConfirm();
  const setLabel = (index: number, label: LabelDraft) => onChange(value.map((l, i) => (i === index ? label : l)));

  const remove = async (index: number) => {
    const label = value[index];
    if (label.id !== undefined && savedIds.has(label.id)) {
      const ok = await confirm({
        title: "Delete label",
        message: `Delete the label "${label.name}"? Its annotations are deleted with it when you save.`,
        confirmLabel: "Delete label",
        danger: true,
      });
      if (!ok) return;
    }
    onChange(value.filter((_, i) => i !== index));
  };

  return (
    <div className="constructor">
      {value.length === 0 && <p className="muted">No labels yet. Add the first one.</p>}
      {value.map((label, i) => (
        <LabelCard
          key={label.key}
          label={label}
          index={i}
          saved={label.id !== undefined && savedIds.has(label.id)}
          onChange={(l) => setLabel(i, l)}
          onRemove={() => remove(i)}
        />
      ))}
      <button type="button" className="add-label" onClick={() => onChange([...value, newLabel(value.map((l) => l.color))])}>
        + Add label
      </button>
    </div>
  );
}

interface CardProps {
  label: LabelDraft;
  index: number;
  saved: boolean;
  onChange: (label: LabelDraft) => void;
  onRemove: () => void;
}

function LabelCard({ label, index, saved, onChange, onRemove }: CardProps) {
  const name = label.name.trim() || `label ${index + 1}`;
  const setType = (type: LabelType) => {
    if (type === "skeleton" && !label.points.length) {
      const points = ["point 1", "point 2"].map((n, i) => ({ key: newKey(), name: n, color: "#b3b3b3", ...defaultPosition(i, 2) }));
      onChange({ ...label, type, points, edges: [[0, 1]] });
    } else {
      onChange({ ...label, type });
    }
  };
  // The server keeps a label on either side of "skeleton" once saved.
  const typeChoices = saved ? LABEL_TYPES.filter((t) => (label.type === "skeleton") === (t === "skeleton")) : LABEL_TYPES;

  return (
    <article className="label-card" style={{ borderLeftColor: label.color }} aria-label={`Label ${name}`}>
      <div className="label-head">
        <input
          type="color"
          aria-label={`Colour of ${name}`}
          value={/^#[0-9a-fA-F]{6}$/.test(label.color) ? label.color : "#000000"}
          onChange={(e) => onChange({ ...label, color: e.target.value })}
        />
        <label className="field grow">
          <span>Name</span>
          <input aria-label={`Name of label ${index + 1}`} value={label.name} onChange={(e) => onChange({ ...label, name: e.target.value })} />
        </label>
        <label className="field">
          <span>Type</span>
          <select aria-label={`Type of ${name}`} value={label.type} onChange={(e) => setType(e.target.value as LabelType)}>
            {typeChoices.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        {saved && <span className="muted small">#{label.id}</span>}
        <button type="button" className="icon-button danger-text" aria-label={`Delete label ${name}`} onClick={onRemove}>
          <TrashIcon />
        </button>
      </div>
      <div className="attributes">
        {label.attributes.map((a, i) => (
          <AttributeEditor
            key={a.key}
            attr={a}
            where={`attribute ${i + 1} of ${name}`}
            saved={a.id !== undefined && saved}
            onChange={(attr) => onChange({ ...label, attributes: label.attributes.map((x, j) => (j === i ? attr : x)) })}
            onRemove={() => onChange({ ...label, attributes: label.attributes.filter((_, j) => j !== i) })}
          />
        ))}
        <button type="button" onClick={() => onChange({ ...label, attributes: [...label.attributes, newAttribute()] })}>
          + Add attribute to {name}
        </button>
      </div>
      {label.type === "skeleton" && (
        <SkeletonEditor label={label} labelName={name} onChange={onChange} readOnly={saved} />
      )}
    </article>
  );
}
