// Picks capabilities to grant, offering only the actions the signed-in token holds (and so may grant).
import { useId, useState } from 'react';
import {
  type Action,
  CAPABILITIES,
  type Grants,
  grantableOn,
  hasAction,
  type Scope,
  type ScopedGrants,
  scopeName,
  toggle,
} from '../capabilities';

/** One set of checkboxes: a row per capability, a checkbox per action offered. */
function GrantRows({
  label,
  offered,
  value,
  onChange,
}: {
  label: string;
  offered: Grants;
  value: Grants;
  onChange: (grants: Grants) => void;
}) {
  const rows = Object.entries(offered).filter(([, actions]) => actions.length > 0);
  if (rows.length === 0) return <p className="hint">Nothing your token can grant here.</p>;
  return (
    <ul className="grant-rows">
      {rows.map(([capability, actions]) => (
        <li key={capability}>
          <fieldset className="grant">
            <legend>
              <span className="visually-hidden">{label}: </span>
              {capability}
            </legend>
            {actions.map((action: Action) => (
              <label key={action} className="check">
                <input
                  type="checkbox"
                  name={`${label}.${capability}`}
                  value={action}
                  checked={hasAction(value, capability, action)}
                  onChange={(event) => onChange(toggle(value, capability, action, event.target.checked))}
                />
                {action}
              </label>
            ))}
          </fieldset>
        </li>
      ))}
    </ul>
  );
}

/** Only the capabilities and actions the spec defines, in its order, that `held` holds. */
function offeredOf(kind: keyof typeof CAPABILITIES, held: Grants): Grants {
  const offered: Grants = {};
  for (const [capability, allowed] of CAPABILITIES[kind]) {
    const actions = allowed.filter((action) => hasAction(held, capability, action));
    if (actions.length > 0) offered[capability] = actions;
  }
  return offered;
}

export function OrgPicker({
  held,
  value,
  onChange,
}: {
  held: Grants;
  value: Grants;
  onChange: (grants: Grants) => void;
}) {
  return (
    <fieldset className="group">
      <legend>Organisation capabilities</legend>
      <GrantRows
        label="Organisation"
        offered={offeredOf('orgCapabilities', held)}
        value={value}
        onChange={onChange}
      />
    </fieldset>
  );
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Dataset or view capabilities: the names the signed-in token holds capabilities on, and, when it
 * holds some on `*`, any name the person types.
 */
export function ScopedPicker({
  scope,
  held,
  value,
  onChange,
}: {
  scope: Scope;
  held: ScopedGrants;
  value: ScopedGrants;
  onChange: (grants: ScopedGrants) => void;
}) {
  const noun = scope === 'datasetCapabilities' ? 'dataset' : 'view';
  const title = scope === 'datasetCapabilities' ? 'Dataset capabilities' : 'View capabilities';
  const [typed, setTyped] = useState<string[]>([]);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string>();
  const id = useId();
  const kind = scope === 'datasetCapabilities' ? 'datasetCapabilities' : 'viewCapabilities';
  const names = [...new Set([...Object.keys(held), ...typed])];
  const wildcard = held['*'] !== undefined && Object.keys(held['*']).length > 0;

  const add = () => {
    const name = draft.trim();
    if (!NAME_PATTERN.test(name)) {
      setError(
        `"${name}" is not a ${noun} name: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      );
      return;
    }
    setError(undefined);
    if (!names.includes(name)) setTyped([...typed, name]);
    setDraft('');
  };

  return (
    <fieldset className="group">
      <legend>{title}</legend>
      {names.length === 0 ? <p className="hint">Your token holds no {noun} capabilities to grant.</p> : null}
      {names.map((name) => (
        <div key={name} className="scope">
          <h3>{scopeName(scope, name)}</h3>
          <GrantRows
            label={scopeName(scope, name)}
            offered={offeredOf(kind, grantableOn(held, name))}
            value={value[name] ?? {}}
            onChange={(grants) => {
              const next = { ...value, [name]: grants };
              if (Object.keys(grants).length === 0) delete next[name];
              onChange(next);
            }}
          />
        </div>
      ))}
      {wildcard ? (
        <div className="field add-scope">
          <label htmlFor={id}>Add a {noun} by name</label>
          <div className="inline">
            <input
              id={id}
              value={draft}
              aria-invalid={error === undefined ? undefined : true}
              aria-describedby={error === undefined ? undefined : `${id}-error`}
              onChange={(event) => setDraft(event.target.value)}
              onKeyDown={(event) => {
                // Enter adds the name here rather than submitting the whole form.
                if (event.key === 'Enter') {
                  event.preventDefault();
                  add();
                }
              }}
            />
            <button type="button" onClick={add}>
              Add {noun}
            </button>
          </div>
          {error === undefined ? null : (
            <p className="error" id={`${id}-error`} role="alert">
              {error}
            </p>
          )}
        </div>
      ) : null}
    </fieldset>
  );
}
