// The console's frame: who is signed in, the navigation, and the page the URL names.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { grantsOf, hasAction } from './capabilities';
import { Page } from './components/Page';
import { getCurrentApiTokenOptions } from './generated/@tanstack/react-query.gen';
import { Link, navigate, useLocation } from './router';
import { AuditTrail } from './routes/audit/AuditTrail';
import { SignIn } from './routes/signIn/SignIn';
import { DeleteToken } from './routes/tokens/DeleteToken';
import { NewToken } from './routes/tokens/NewToken';
import { RegenerateToken } from './routes/tokens/RegenerateToken';
import { TokenDetail } from './routes/tokens/TokenDetail';
import { TokenList } from './routes/tokens/TokenList';
import { VerifyToken } from './routes/verify/VerifyToken';
import { signOut, useSession } from './session';

function Route({ path, canAudit }: { path: string; canAudit: boolean }) {
  if (path === '/' || path === '/tokens') return <TokenList />;
  if (path === '/tokens/new') return <NewToken />;
  if (path === '/audit') {
    return canAudit ? (
      <AuditTrail />
    ) : (
      <Page title="Audit trail">
        <p>The audit trail is shown only to a token holding auditLog: read.</p>
      </Page>
    );
  }
  if (path === '/verify') return <VerifyToken />;
  const match = /^\/tokens\/([^/]+)(?:\/(regenerate|delete))?$/.exec(path);
  if (match !== null) {
    const id = decodeURIComponent(match[1] ?? '');
    if (match[2] === 'regenerate') return <RegenerateToken key={id} id={id} />;
    if (match[2] === 'delete') return <DeleteToken key={id} id={id} />;
    return <TokenDetail key={id} id={id} />;
  }
  return (
    <Page title="Not found">
      <p>
        There is no page here. <Link to="/tokens">Go to the tokens</Link>.
      </p>
    </Page>
  );
}

export function App() {
  const session = useSession();
  const { path } = useLocation();
  const queryClient = useQueryClient();
  const self = useQuery({ ...getCurrentApiTokenOptions(), enabled: session.token !== undefined });
  const canAudit = hasAction(grantsOf(self.data?.orgCapabilities), 'auditLog', 'read');
  const section = path.startsWith('/audit') ? 'audit' : path.startsWith('/verify') ? 'verify' : 'tokens';

  const leave = () => {
    signOut();
    queryClient.clear();
    navigate('/', { replace: true });
  };

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">api-tokens</span>
        {session.token === undefined ? null : (
          <>
            <nav aria-label="Main">
              <ul>
                <li>
                  <Link to="/tokens" aria-current={section === 'tokens' ? 'page' : undefined}>
                    Tokens
                  </Link>
                </li>
                {canAudit ? (
                  <li>
                    <Link to="/audit" aria-current={section === 'audit' ? 'page' : undefined}>
                      Audit trail
                    </Link>
                  </li>
                ) : null}
                <li>
                  <Link to="/verify" aria-current={section === 'verify' ? 'page' : undefined}>
                    Verify
                  </Link>
                </li>
              </ul>
            </nav>
            <div className="who">
              <span>
                Signed in as <strong data-testid="signed-in-as">{self.data?.name ?? '…'}</strong>
              </span>
              <button type="button" onClick={leave}>
                Sign out
              </button>
            </div>
          </>
        )}
      </header>
      <main id="main">
        {session.token === undefined ? (
          <SignIn reason={session.reason} />
        ) : (
          <Route path={path} canAudit={canAudit} />
        )}
      </main>
    </>
  );
}
