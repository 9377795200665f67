// "Regenerate": a replacement with a new secret; the old one keeps working for the grace period chosen.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { ErrorMessage } from '../../components/ErrorMessage';
import { ExpiryField } from '../../components/ExpiryField';
import { Page } from '../../components/Page';
import { SecretBox } from '../../components/SecretBox';
import { type ExpiryPreset, expiresAtOf, GRACE_PRESETS } from '../../dates';
import { getApiTokenOptions, regenerateApiTokenMutation } from '../../generated/@tanstack/react-query.gen';
import type { RegenerateApiToken } from '../../generated/types.gen';
import { Link } from '../../router';

export function RegenerateToken({ id }: { id: string }) {
  const token = useQuery(getApiTokenOptions({ path: { id } }));
  const queryClient = useQueryClient();
  const regenerate = useMutation({
    ...regenerateApiTokenMutation(),
    // The old token's expiry and the list change; everything is refetched.
    onSuccess: () => queryClient.invalidateQueries(),
  });
  const [grace, setGrace] = useState<number>(GRACE_PRESETS[2].value);
  const [preset, setPreset] = useState<ExpiryPreset | 'keep'>('keep');
  const [date, setDate] = useState('');
  const [dateError, setDateError] = useState<string>();
  const formId = useId();

  if (regenerate.isSuccess) {
    return (
      <Page title="Token regenerated">
        <p>
          <strong>{regenerate.data.name}</strong> has a new secret; the old one works until the grace period
          ends.
        </p>
        <SecretBox secret={regenerate.data.token} />
        <div className="actions">
          <Link to={`/tokens/${regenerate.data.id}`} className="button">
            Open the new token
          </Link>
          <Link to="/tokens">Back to the tokens</Link>
        </div>
      </Page>
    );
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const newTokenExpiresAt = preset === 'keep' ? undefined : expiresAtOf(preset, date);
    if (preset === 'date' && newTokenExpiresAt === undefined) {
      setDateError('New token expires: pick the date the new token stops working.');
      return;
    }
    setDateError(undefined);
    const body: RegenerateApiToken = {
      existingTokenExpiresAt: new Date(Date.now() + grace).toISOString(),
      ...(preset === 'keep' ? {} : { newTokenExpiresAt }),
    };
    regenerate.mutate({ path: { id }, body });
  };

  return (
    <Page title={token.data === undefined ? 'Regenerate' : `Regenerate ${token.data.name}`}>
      <ErrorMessage error={token.error} />
      <form className="card" onSubmit={submit} noValidate>
        <fieldset className="group">
          <legend>The old secret keeps working for</legend>
          {GRACE_PRESETS.map(({ value, label }) => (
            <label key={value} className="check">
              <input
                type="radio"
                name={`${formId}-grace`}
                value={value}
                checked={grace === value}
                onChange={() => setGrace(value)}
              />
              {label === 'Now' ? 'Now: the old secret stops at once' : label}
            </label>
          ))}
        </fieldset>
        <ExpiryField
          label="New token expires"
          keepLabel="As the old token"
          preset={preset}
          date={date}
          onPreset={setPreset}
          onDate={setDate}
          error={dateError}
        />
        <ErrorMessage error={regenerate.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={regenerate.isPending}>
            Regenerate
          </button>
          <Link to={`/tokens/${id}`}>Cancel</Link>
        </div>
      </form>
    </Page>
  );
}
