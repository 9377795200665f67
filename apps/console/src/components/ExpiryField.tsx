// The "Expires" control: presets (7, 30, 90 days, a date, never) and, for a date, a date field.
import { useId } from 'react';
import { type ExpiryPreset, presetsWithin } from '../dates';

interface Props {
  label: string;
  preset: ExpiryPreset | 'keep';
  date: string;
  onPreset: (preset: ExpiryPreset | 'keep') => void;
  onDate: (date: string) => void;
  /** Offer "as before" (Regenerate: keep the old token's expiry). */
  keepLabel?: string;
  error?: string;
  /** The server's cap on a new token's lifetime (GET /tokens/policy), in seconds; null or absent: none. */
  maxLifetimeSeconds?: number | null;
}

export function ExpiryField({
  label,
  preset,
  date,
  onPreset,
  onDate,
  keepLabel,
  error,
  maxLifetimeSeconds,
}: Props) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={preset}
        onChange={(event) => onPreset(event.target.value as ExpiryPreset | 'keep')}
      >
        {keepLabel === undefined ? null : <option value="keep">{keepLabel}</option>}
        {presetsWithin(maxLifetimeSeconds).map(({ value, label: text }) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
      {preset === 'date' ? (
        <>
          <label htmlFor={`${id}-date`}>{label}: date</label>
          <input
            id={`${id}-date`}
            type="date"
            value={date}
            required
            aria-invalid={error === undefined ? undefined : true}
            aria-describedby={error === undefined ? undefined : `${id}-error`}
            onChange={(event) => onDate(event.target.value)}
          />
        </>
      ) : null}
      {error === undefined ? null : (
        <p className="error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
