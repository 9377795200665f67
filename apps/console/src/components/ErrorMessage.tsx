// An API error as the person reads it: its message, announced when it appears.
import { messageOf } from '../api';

export function ErrorMessage({ error, id }: { error: unknown; id?: string }) {
  if (error === null || error === undefined) return null;
  return (
    <p className="error" role="alert" id={id}>
      {messageOf(error)}
    </p>
  );
}
