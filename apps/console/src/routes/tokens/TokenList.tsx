// "Tokens": the live tokens, a page at a time, with their status, expiry and last use.
import { useQuery } from '@tanstack/react-query';
import { useId } from 'react';
import { DateTime } from '../../components/DateTime';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Page } from '../../components/Page';
import { statusOf } from '../../dates';
import { Link, navigate, useLocation, withQuery } from '../../router';
import { TOKENS_PAGE_SIZE, tokensPageOptions } from './pages';

export function TokenList() {
  const { query } = useLocation();
  const cursor = query.get('cursor') ?? undefined;
  const name = query.get('name') ?? '';
  const page = useQuery(tokensPageOptions({ limit: TOKENS_PAGE_SIZE, cursor }));
  const filterId = useId();
  const needle = name.trim().toLocaleLowerCase();
  const tokens = (page.data?.items ?? []).filter((token) => token.name.toLocaleLowerCase().includes(needle));
  const now = Date.now();

  return (
    <Page
      title="Tokens"
      actions={
        <Link to="/tokens/new" className="button primary">
          New token
        </Link>
      }
    >
      <div className="field filter">
        <label htmlFor={filterId}>Filter by name</label>
        <input
          id={filterId}
          type="search"
          value={name}
          onChange={(event) =>
            navigate(withQuery('/tokens', { cursor, name: event.target.value }), { replace: true })
          }
        />
      </div>
      <ErrorMessage error={page.error} />
      {page.isPending ? <p role="status">Loading tokens…</p> : null}
      {page.isSuccess &&
      page.data.items.length === 0 &&
      cursor === undefined &&
      page.data.next === undefined ? (
        <div className="empty">
          <p>There are no tokens yet.</p>
          <p>
            Create the first with <Link to="/tokens/new">New token</Link>: give it a name, an expiry and the
            capabilities it needs. Its secret is shown once, when it is created.
          </p>
        </div>
      ) : null}
      {page.isSuccess && (page.data.items.length > 0 || cursor !== undefined) ? (
        <div className="table-scroll">
          <table className="tokens stacked">
            <caption className="visually-hidden">
              Tokens{needle === '' ? '' : `, names containing "${name}"`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Description</th>
                <th scope="col">Status</th>
                <th scope="col">Expires</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((token) => {
                const status = statusOf(token.expiresAt, now);
                return (
                  <tr key={token.id}>
                    <th scope="row" data-label="Name">
                      <Link to={`/tokens/${token.id}`}>{token.name}</Link>
                    </th>
                    <td data-label="Description">{token.description}</td>
                    <td data-label="Status">
                      <span
                        className={`status status-${status === 'live' ? 'live' : status === 'expired' ? 'expired' : 'soon'}`}
                      >
                        {status}
                      </span>
                    </td>
                    <td data-label="Expires">
                      <DateTime value={token.expiresAt} />
                    </td>
                    <td data-label="Created">
                      <DateTime value={token.createdAt} />
                    </td>
                    <td data-label="Last used">
                      <DateTime value={token.apiLastUsed} />
                    </td>
                  </tr>
                );
              })}
              {tokens.length === 0 ? (
                <tr>
                  <td colSpan={6}>No token on this page matches the filter.</td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      ) : null}
      <nav className="pager" aria-label="Pages">
        {cursor === undefined ? null : <Link to={withQuery('/tokens', { name })}>First page</Link>}
        {page.data?.next === undefined ? null : (
          <Link to={withQuery('/tokens', { cursor: page.data.next, name })} rel="next">
            Next page
          </Link>
        )}
      </nav>
    </Page>
  );
}
