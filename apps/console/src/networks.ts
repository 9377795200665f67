// Where and from when a token works, as the "New token" form takes them: networks one per line, a start as a local date and time.

/** The CIDRs typed into the networks field: one per line (commas and spaces separate too), blanks dropped. */
export function cidrsOf(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((cidr) => cidr.trim())
    .filter((cidr) => cidr !== '');
}

/**
 * The `notBefore` a `datetime-local` field's value means: that local date and time as an RFC 3339
 * instant; undefined when none (or no valid one) is given.
 */
export function notBeforeOf(value: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (match === null) return undefined;
  const [year, month, day, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const at = new Date(year, month - 1, day, hours, minutes, seconds);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}
