// One attribute of a label: name, input type, its values (a list for select/radio, min/max/
// step for number), default value and the mutable flag.

import { useState } from "react";
import { INPUT_TYPES, type InputType } from "../../api/types";
import { retype, type AttrDraft } from "./model";
import { TrashIcon } from "../icons";

interface Props {
  attr: AttrDraft;
  where: string; // "attribute 2 of car", for control labels
  saved: boolean;
  onChange: (attr: AttrDraft) => void;
  onRemove: () => void;
}

export function AttributeEditor({ attr, where, saved, onChange, onRemove }: Props) {
  const set = (change: Partial<AttrDraft>) => onChange({ ...attr, ...change });
  return (
    <div className="attribute" role="group" aria-label={where}>
      <label className="field">
        <span>Name</span>
        <input aria-label={`Name of ${where}`} value={attr.name} onChange={(e) => set({ name: e.target.value })} />
      </label>
      <label className="field">
        <span>Input</span>
        <select
          aria-label={`Input type of ${where}`}
          value={attr.input_type}
          onChange={(e) => onChange(retype(attr, e.target.value as InputType))}
        >
          {INPUT_TYPES.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <div className="attribute-values">
        <Values attr={attr} where={where} set={set} />
      </div>
      <label className="check">
        <input type="checkbox" aria-label={`Mutable: ${where}`} checked={attr.mutable} onChange={(e) => set({ mutable: e.target.checked })} />
        <span>Mutable</span>
      </label>
      <button
        type="button"
        className="icon-button"
        aria-label={`Remove ${where}`}
        title={saved ? "A saved attribute cannot be removed" : "Remove"}
        disabled={saved}
        onClick={onRemove}
      >
        <TrashIcon />
      </button>
    </div>
  );
}

function Values({ attr, where, set }: { attr: AttrDraft; where: string; set: (c: Partial<AttrDraft>) => void }) {
  switch (attr.input_type) {
    case "select":
    case "radio":
      return (
        <>
          <ValueList values={attr.values} where={where} onChange={(values) => set({ values })} />
          <label className="field">
            <span>Default</span>
            <select aria-label={`Default value of ${where}`} value={attr.default_value} onChange={(e) => set({ default_value: e.target.value })}>
              {!attr.values.includes(attr.default_value) && <option value="">{attr.values[0] ?? "—"}</option>}
              {attr.values.map((v) => (
                <option key={v}>{v}</option>
              ))}
            </select>
          </label>
        </>
      );
    case "checkbox":
      return (
        <label className="field">
          <span>Default</span>
          <select aria-label={`Default value of ${where}`} value={attr.default_value === "true" ? "true" : "false"} onChange={(e) => set({ default_value: e.target.value })}>
            <option>false</option>
            <option>true</option>
          </select>
        </label>
      );
    case "number": {
      const names = ["Min", "Max", "Step"];
      return (
        <>
          {names.map((n, i) => (
            <label key={n} className="field narrow">
              <span>{n}</span>
              <input
                type="number"
                step="any"
                aria-label={`${n} of ${where}`}
                value={attr.values[i] ?? ""}
                onChange={(e) => {
                  const values = [0, 1, 2].map((j) => attr.values[j] ?? "");
                  values[i] = e.target.value;
                  set({ values });
                }}
              />
            </label>
          ))}
          <label className="field narrow">
            <span>Default</span>
            <input type="number" step="any" aria-label={`Default value of ${where}`} value={attr.default_value} onChange={(e) => set({ default_value: e.target.value })} />
          </label>
        </>
      );
    }
    default:
      return (
        <label className="field">
          <span>Default</span>
          <input aria-label={`Default value of ${where}`} value={attr.default_value} onChange={(e) => set({ default_value: e.target.value })} />
        </label>
      );
  }
}

/** Values as removable chips and an input: Enter (or a comma) adds what was typed. */
function ValueList({ values, where, onChange }: { values: string[]; where: string; onChange: (v: string[]) => void }) {
  const [text, setText] = useState("");
  const add = () => {
    const fresh = text.split(",").map((v) => v.trim()).filter((v) => v && !values.includes(v));
    if (fresh.length) onChange([...values, ...fresh]);
    setText("");
  };
  return (
    <div className="field">
      <span>Values</span>
      <div className="chips">
        {values.map((v) => (
          <span key={v} className="chip">
            {v}
            <button type="button" aria-label={`Remove value ${v} of ${where}`} onClick={() => onChange(values.filter((x) => x !== v))}>
              ×
            </button>
          </span>
        ))}
        <input
          aria-label={`New value of ${where}`}
          placeholder="value, Enter"
          value={text}
          size={10}
          onChange={(e) => setText(e.target.value)}
          onBlur={add}
          onKeyDown={(e) => {
            if (e.key === "Enter" || e.key === ",") {
              e.preventDefault();
              add();
            } else if (e.key === "Backspace" && !text && values.length) {
              onChange(values.slice(0, -1));
            }
          }}
        />
      </div>
    </div>
  );
}
