// A date in the person's locale; the exact time on hover (title) and for machines (datetime).
import { formatDate, formatExact } from '../dates';

export function DateTime({ value, empty = 'never' }: { value: string | null; empty?: string }) {
  if (value === null) return <>{empty}</>;
  return (
    <time dateTime={value} title={formatExact(value)}>
      {formatDate(value)}
    </time>
  );
}
