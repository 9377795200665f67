// A token: its dates, every capability as a table, and what can be done to it.
import { useQuery } from '@tanstack/react-query';
import { CapabilityTable } from '../../components/CapabilityTable';
import { DateTime } from '../../components/DateTime';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Page } from '../../components/Page';
import { statusOf } from '../../dates';
import { getApiTokenOptions } from '../../generated/@tanstack/react-query.gen';
import { Link } from '../../router';

export function TokenDetail({ id }: { id: string }) {
  const token = useQuery(getApiTokenOptions({ path: { id } }));
  if (token.isPending) return <p role="status">Loading the token…</p>;
  if (token.isError)
    return (
      <Page title="Token">
        <ErrorMessage error={token.error} />
        <Link to="/tokens">Back to the tokens</Link>
      </Page>
    );
  const { data } = token;
  return (
    <Page title={data.name}>
      {data.description === '' ? null : <p className="description">{data.description}</p>}
      <dl className="facts">
        <dt>Status</dt>
        <dd>{statusOf(data.expiresAt)}</dd>
        <dt>Expires</dt>
        <dd>
          <DateTime value={data.expiresAt} />
        </dd>
        {data.notBefore === undefined ? null : (
          <>
            <dt>Not before</dt>
            <dd>
              <DateTime value={data.notBefore} />
            </dd>
          </>
        )}
        <dt>Networks</dt>
        <dd>
          {data.allowedCidrs === undefined ? (
            'Anywhere'
          ) : (
            <ul className="networks">
              {data.allowedCidrs.map((cidr) => (
                <li key={cidr}>
                  <code>{cidr}</code>
                </li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Created</dt>
        <dd>
          <DateTime value={data.createdAt} />
        </dd>
        <dt>Last used</dt>
        <dd>
          <DateTime value={data.apiLastUsed} />
        </dd>
        <dt>Id</dt>
        <dd>
          <code>{data.id}</code>
        </dd>
      </dl>
      <CapabilityTable
        orgCapabilities={data.orgCapabilities}
        datasetCapabilities={data.datasetCapabilities}
        viewCapabilities={data.viewCapabilities}
      />
      <div className="actions">
        <Link to={`/tokens/${data.id}/regenerate`} className="button">
          Regenerate
        </Link>
        <Link to={`/tokens/${data.id}/delete`} className="button danger">
          Delete
        </Link>
      </div>
    </Page>
  );
}
