// "Verify a token": is this secret live, from where it came, and does it hold what a request needs? The verdict, with `missing`.
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Page } from '../../components/Page';
import { verifyApiTokenMutation } from '../../generated/@tanstack/react-query.gen';
import type { ApiTokenVerdict, RequiredCapabilities } from '../../generated/types.gen';

const EXAMPLE = '{ "datasetCapabilities": { "logs": { "ingest": ["create"] } } }';

/** One line per verdict the spec defines: a code added there fails the build here until it is explained. */
const VERDICTS: Record<ApiTokenVerdict['code'], string> = {
  VALID: 'Valid: the token is live and holds everything required.',
  INSUFFICIENT_CAPABILITIES:
    'Insufficient capabilities: the token is live but lacks some of what was required.',
  EXPIRED: 'Expired: the token is past its expiry.',
  NOT_FOUND: 'Not found: unknown, deleted, replaced past its grace period, or not a secret.',
  NOT_YET_VALID: 'Not yet valid: the token is live, but its start (Not before) has not come yet.',
  ADDRESS_NOT_ALLOWED:
    'Address not allowed: the token is bound to networks, and the client address is outside them or was not given.',
  RATE_LIMITED: 'Rate limited: the token is over its requests-per-second limit.',
};

export function VerifyToken() {
  const verify = useMutation(verifyApiTokenMutation());
  const [secret, setSecret] = useState('');
  const [require, setRequire] = useState('');
  const [clientAddress, setClientAddress] = useState('');
  const [secretError, setSecretError] = useState<string>();
  const [requireError, setRequireError] = useState<string>();
  const id = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    let required: RequiredCapabilities | undefined;
    let invalid = false;
    if (secret.trim() === '') {
      setSecretError('Secret: paste the secret to verify (xaat-…).');
      invalid = true;
    } else setSecretError(undefined);
    if (require.trim() !== '') {
      try {
        required = JSON.parse(require) as RequiredCapabilities;
        setRequireError(undefined);
      } catch {
        setRequireError(
          `Requirements: not JSON. Write them as capabilities are granted, for example ${EXAMPLE}.`,
        );
        invalid = true;
      }
    } else setRequireError(undefined);
    if (invalid) return;
    verify.mutate({
      body: {
        token: secret.trim(),
        ...(required === undefined ? {} : { require: required }),
        ...(clientAddress.trim() === '' ? {} : { clientAddress: clientAddress.trim() }),
      },
    });
  };

  const verdict = verify.data;
  return (
    <Page title="Verify a token">
      <form className="card" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${id}-secret`}>Secret</label>
          <input
            id={`${id}-secret`}
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={secret}
            aria-invalid={secretError === undefined ? undefined : true}
            aria-describedby={secretError === undefined ? undefined : `${id}-secret-error`}
            onChange={(event) => setSecret(event.target.value)}
          />
          {secretError === undefined ? null : (
            <p className="error" id={`${id}-secret-error`} role="alert">
              {secretError}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor={`${id}-address`}>Client address (optional)</label>
          <input
            id={`${id}-address`}
            type="text"
            autoComplete="off"
            spellCheck={false}
            placeholder="203.0.113.7"
            value={clientAddress}
            aria-describedby={`${id}-address-hint`}
            onChange={(event) => setClientAddress(event.target.value)}
          />
          <p className="hint" id={`${id}-address-hint`}>
            The IPv4 or IPv6 address the request came from. A token bound to networks is valid only from
            inside them.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-require`}>Requirements (JSON, optional)</label>
          <textarea
            id={`${id}-require`}
            rows={4}
            spellCheck={false}
            value={require}
            placeholder={EXAMPLE}
            aria-invalid={requireError === undefined ? undefined : true}
            aria-describedby={`${id}-require-hint${requireError === undefined ? '' : ` ${id}-require-error`}`}
            onChange={(event) => setRequire(event.target.value)}
          />
          <p className="hint" id={`${id}-require-hint`}>
            In the shape capabilities are granted in, for example <code>{EXAMPLE}</code>.
          </p>
          {requireError === undefined ? null : (
            <p className="error" id={`${id}-require-error`} role="alert">
              {requireError}
            </p>
          )}
        </div>
        <ErrorMessage error={verify.error} />
        <button type="submit" className="primary" disabled={verify.isPending}>
          Verify
        </button>
      </form>
      {/* Always present, so a screen reader announces each verdict as it arrives. */}
      <div aria-live="polite">
        {verdict === undefined ? null : (
          <section className={`verdict ${verdict.valid ? 'valid' : 'invalid'}`}>
            <h2>Verdict</h2>
            <p>
              <code>{verdict.code}</code> {VERDICTS[verdict.code]}
            </p>
            {'token' in verdict ? (
              <p>
                Token: <strong>{verdict.token.name}</strong> (<code>{verdict.token.id}</code>)
              </p>
            ) : null}
            {'missing' in verdict ? (
              <>
                <h3>Missing</h3>
                <ul className="missing">
                  {verdict.missing.map((item) => (
                    <li key={item}>
                      <code>{item}</code>
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
            {'retryAfter' in verdict ? <p>Try again in {verdict.retryAfter} s.</p> : null}
          </section>
        )}
      </div>
    </Page>
  );
}
