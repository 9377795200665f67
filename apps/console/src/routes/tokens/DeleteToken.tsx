// "Delete": confirmed by typing the token's name, since its secret stops working at once.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Page } from '../../components/Page';
import { deleteApiTokenMutation, getApiTokenOptions } from '../../generated/@tanstack/react-query.gen';
import { Link, navigate } from '../../router';

export function DeleteToken({ id }: { id: string }) {
  const token = useQuery(getApiTokenOptions({ path: { id } }));
  const queryClient = useQueryClient();
  const remove = useMutation({
    ...deleteApiTokenMutation(),
    onSuccess: async () => {
      queryClient.removeQueries({ queryKey: getApiTokenOptions({ path: { id } }).queryKey });
      await queryClient.invalidateQueries();
      navigate('/tokens', { replace: true });
    },
  });
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string>();
  const fieldId = useId();

  if (token.isPending) return <p role="status">Loading the token…</p>;
  if (token.isError)
    return (
      <Page title="Delete">
        <ErrorMessage error={token.error} />
        <Link to="/tokens">Back to the tokens</Link>
      </Page>
    );
  const { name } = token.data;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (typed !== name) {
      setError(`Type the token's name, ${name}, exactly to confirm.`);
      return;
    }
    setError(undefined);
    remove.mutate({ path: { id } });
  };

  return (
    <Page title={`Delete ${name}`}>
      <form className="card narrow" onSubmit={submit} noValidate>
        <p>Its secret stops working at once, for every service using it. This cannot be undone.</p>
        <div className="field">
          <label htmlFor={fieldId}>
            Type <strong className="token-name">{name}</strong> to confirm
          </label>
          <input
            id={fieldId}
            value={typed}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={error === undefined ? undefined : true}
            aria-describedby={error === undefined ? undefined : `${fieldId}-error`}
            onChange={(event) => setTyped(event.target.value)}
          />
          {error === undefined ? null : (
            <p className="error" id={`${fieldId}-error`} role="alert">
              {error}
            </p>
          )}
        </div>
        <ErrorMessage error={remove.error} />
        <div className="actions">
          <button type="submit" className="danger" disabled={remove.isPending}>
            Delete
          </button>
          <Link to={`/tokens/${id}`}>Cancel</Link>
        </div>
      </form>
    </Page>
  );
}
