// "New token": name, description, expiry, start, networks and capabilities; the answer's secret is shown once.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { type Grants, grantsOf, type ScopedGrants, scopedGrantsOf } from '../../capabilities';
import { OrgPicker, ScopedPicker } from '../../components/CapabilityPicker';
import { ErrorMessage } from '../../components/ErrorMessage';
import { ExpiryField } from '../../components/ExpiryField';
import { Page } from '../../components/Page';
import { SecretBox } from '../../components/SecretBox';
import { type ExpiryPreset, expiresAtOf, presetsWithin } from '../../dates';
import {
  createApiTokenMutation,
  getApiTokenPolicyOptions,
  getApiTokensQueryKey,
  getCurrentApiTokenOptions,
} from '../../generated/@tanstack/react-query.gen';
import type { CreateApiToken } from '../../generated/types.gen';
import { cidrsOf, notBeforeOf } from '../../networks';
import { Link } from '../../router';

export function NewToken() {
  const self = useQuery(getCurrentApiTokenOptions());
  // The server's cap on a token's lifetime, so that only expiries it accepts are offered.
  const policy = useQuery(getApiTokenPolicyOptions());
  const queryClient = useQueryClient();
  const create = useMutation({
    ...createApiTokenMutation(),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [{ _id: getApiTokensQueryKey()[0]._id }] }),
  });
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [chosenPreset, setPreset] = useState<ExpiryPreset | 'keep'>('90');
  const [date, setDate] = useState('');
  const [notBefore, setNotBefore] = useState('');
  const [networks, setNetworks] = useState('');
  const [org, setOrg] = useState<Grants>({});
  const [datasets, setDatasets] = useState<ScopedGrants>({});
  const [views, setViews] = useState<ScopedGrants>({});
  const [nameError, setNameError] = useState<string>();
  const [dateError, setDateError] = useState<string>();
  const id = useId();

  // A preset the server's cap rules out gives way to the longest it allows (a date, when no number of days fits).
  const allowed = presetsWithin(policy.data?.maxLifetimeSeconds);
  const preset: ExpiryPreset | 'keep' = allowed.some(({ value }) => value === chosenPreset)
    ? chosenPreset
    : (allowed.filter(({ value }) => value !== 'date').at(-1)?.value ?? 'date');
  const expiresAt = expiresAtOf(preset === 'keep' ? 'never' : preset, date);
  const allowedCidrs = cidrsOf(networks);
  const startsAt = notBeforeOf(notBefore);
  const body: CreateApiToken = {
    name,
    ...(description === '' ? {} : { description }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(startsAt === undefined ? {} : { notBefore: startsAt }),
    ...(allowedCidrs.length === 0 ? {} : { allowedCidrs }),
    orgCapabilities: org,
    datasetCapabilities: datasets,
    viewCapabilities: views,
  };

  if (create.isSuccess) {
    return (
      <Page title="Token created">
        <p>
          <strong>{create.data.name}</strong> was created.
        </p>
        <SecretBox secret={create.data.token} />
        <div className="actions">
          <Link to={`/tokens/${create.data.id}`} className="button">
            Open the token
          </Link>
          <Link to="/tokens">Back to the tokens</Link>
        </div>
      </Page>
    );
  }

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const blank = name.trim() === '';
    setNameError(blank ? 'Name: give the token a name people will recognise it by.' : undefined);
    const noDate = expiresAt === undefined;
    setDateError(noDate ? 'Expires: pick the date the token stops working.' : undefined);
    if (blank || noDate) return;
    create.mutate({ body });
  };

  return (
    <Page title="New token">
      <ErrorMessage error={self.error} />
      <form className="card" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${id}-name`}>Name</label>
          <input
            id={`${id}-name`}
            value={name}
            maxLength={255}
            required
            aria-invalid={nameError === undefined ? undefined : true}
            aria-describedby={nameError === undefined ? undefined : `${id}-name-error`}
            onChange={(event) => setName(event.target.value)}
          />
          {nameError === undefined ? null : (
            <p className="error" id={`${id}-name-error`} role="alert">
              {nameError}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor={`${id}-description`}>Description</label>
          <textarea
            id={`${id}-description`}
            value={description}
            maxLength={1024}
            rows={2}
            onChange={(event) => setDescription(event.target.value)}
          />
        </div>
        <ExpiryField
          label="Expires"
          preset={preset}
          date={date}
          onPreset={setPreset}
          onDate={setDate}
          error={dateError}
          maxLifetimeSeconds={policy.data?.maxLifetimeSeconds}
        />
        <div className="field">
          <label htmlFor={`${id}-not-before`}>Not before</label>
          <input
            id={`${id}-not-before`}
            type="datetime-local"
            value={notBefore}
            aria-describedby={`${id}-not-before-hint`}
            onChange={(event) => setNotBefore(event.target.value)}
          />
          <p className="hint" id={`${id}-not-before-hint`}>
            Optional, in your time zone: the token works from then on. Empty: at once.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-networks`}>Networks</label>
          <textarea
            id={`${id}-networks`}
            value={networks}
            rows={2}
            placeholder="203.0.113.0/24"
            aria-describedby={`${id}-networks-hint`}
            onChange={(event) => setNetworks(event.target.value)}
          />
          <p className="hint" id={`${id}-networks-hint`}>
            Optional: the networks the token works from, one CIDR per line (IPv4 or IPv6). Empty: anywhere.
          </p>
        </div>
        {self.data === undefined ? (
          <p role="status">Loading what your token can grant…</p>
        ) : (
          <>
            <p className="hint">You can grant only what your own token holds.</p>
            <OrgPicker held={grantsOf(self.data.orgCapabilities)} value={org} onChange={setOrg} />
            <ScopedPicker
              scope="datasetCapabilities"
              held={scopedGrantsOf(self.data.datasetCapabilities)}
              value={datasets}
              onChange={setDatasets}
            />
            <ScopedPicker
              scope="viewCapabilities"
              held={scopedGrantsOf(self.data.viewCapabilities)}
              value={views}
              onChange={setViews}
            />
          </>
        )}
        <details>
          <summary>Request body (JSON)</summary>
          <pre className="json" data-testid="request-preview">
            {JSON.stringify(body, null, 2)}
          </pre>
        </details>
        <ErrorMessage error={create.error} />
        <button type="submit" className="primary" disabled={create.isPending}>
          Create token
        </button>
      </form>
    </Page>
  );
}
