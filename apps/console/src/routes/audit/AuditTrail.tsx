// "Audit trail": the events, newest first, filtered by type and token, a page at a time.
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { DateTime } from '../../components/DateTime';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Page } from '../../components/Page';
import { AuditEventType, type AuditTokenRef } from '../../generated/types.gen';
import { Link, navigate, useLocation, withQuery } from '../../router';
import { auditPageOptions, EVENTS_PAGE_SIZE } from '../tokens/pages';

const TYPES = Object.values(AuditEventType);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function TokenRef({ token }: { token: AuditTokenRef | null }) {
  if (token === null) return <>system</>;
  return (
    <Link to={withQuery('/audit', { tokenId: token.tokenId })} title={`Events of ${token.tokenId}`}>
      {token.name}
    </Link>
  );
}

export function AuditTrail() {
  const { query } = useLocation();
  const type = TYPES.find((value) => value === query.get('type'));
  const tokenId = query.get('tokenId') ?? '';
  const cursor = query.get('cursor') ?? undefined;
  const validTokenId = tokenId === '' || UUID.test(tokenId);
  const page = useQuery({
    ...auditPageOptions({
      limit: EVENTS_PAGE_SIZE,
      ...(type === undefined ? {} : { type }),
      ...(tokenId === '' || !validTokenId ? {} : { tokenId }),
      ...(cursor === undefined ? {} : { cursor }),
    }),
    enabled: validTokenId,
  });
  const [draftType, setDraftType] = useState<string>(type ?? '');
  const [draftToken, setDraftToken] = useState(tokenId);
  const [tokenError, setTokenError] = useState<string>();
  const id = useId();

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const token = draftToken.trim();
    if (token !== '' && !UUID.test(token)) {
      setTokenError(
        'Token id: paste a token id (a UUID such as 5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c), or leave it empty.',
      );
      return;
    }
    setTokenError(undefined);
    navigate(withQuery('/audit', { type: draftType, tokenId: token }));
  };

  return (
    <Page title="Audit trail">
      <form className="filters" onSubmit={apply} noValidate>
        <div className="field">
          <label htmlFor={`${id}-type`}>Event type</label>
          <select id={`${id}-type`} value={draftType} onChange={(event) => setDraftType(event.target.value)}>
            <option value="">All types</option>
            {TYPES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-token`}>Token id</label>
          <input
            id={`${id}-token`}
            value={draftToken}
            spellCheck={false}
            aria-invalid={tokenError === undefined ? undefined : true}
            aria-describedby={tokenError === undefined ? undefined : `${id}-token-error`}
            onChange={(event) => setDraftToken(event.target.value)}
          />
          {tokenError === undefined ? null : (
            <p className="error" id={`${id}-token-error`} role="alert">
              {tokenError}
            </p>
          )}
        </div>
        <button type="submit">Filter</button>
      </form>
      <ErrorMessage error={page.error} />
      {page.isPending && validTokenId ? <p role="status">Loading events…</p> : null}
      {page.isSuccess && page.data.items.length === 0 ? <p>No events match.</p> : null}
      {page.isSuccess && page.data.items.length > 0 ? (
        <div className="table-scroll">
          <table className="events stacked">
            <caption className="visually-hidden">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Type</th>
                <th scope="col">Actor</th>
                <th scope="col">Target</th>
                <th scope="col">Client</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((event) => (
                <tr key={event.id}>
                  <td data-label="Time">
                    <DateTime value={event.time} />
                  </td>
                  <td data-label="Type">
                    <code>{event.type}</code>
                  </td>
                  <td data-label="Actor">
                    <TokenRef token={event.actor} />
                  </td>
                  <td data-label="Target">
                    {event.target === null && event.type === 'auth.refused'
                      ? `${String(event.details.count ?? '')} refused`
                      : null}
                    {event.target === null ? null : <TokenRef token={event.target} />}
                  </td>
                  <td data-label="Client">{event.client?.address ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <nav className="pager" aria-label="Pages">
        {cursor === undefined ? null : <Link to={withQuery('/audit', { type, tokenId })}>Newest events</Link>}
        {page.data?.next === undefined ? null : (
          <Link to={withQuery('/audit', { type, tokenId, cursor: page.data.next })} rel="next">
            Older events
          </Link>
        )}
      </nav>
    </Page>
  );
}
