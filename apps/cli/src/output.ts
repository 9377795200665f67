// What the CLI prints: the API's answers as JSON for scripts, or readable tables for people.
import type { ApiToken, ApiTokenVerdict } from '@api-tokens/client';

export type OutputFormat = 'table' | 'json';

/** Writes text; stdout in the program, a buffer in tests. */
export type Write = (text: string) => void;

export function printJson(write: Write, value: unknown): void {
  write(`${JSON.stringify(value, null, 2)}\n`);
}

type Grants = Record<string, readonly string[] | null | undefined> | null | undefined;

const actionList = (grants: Grants) =>
  Object.entries(grants ?? {})
    .filter(([, actions]) => actions != null && actions.length > 0)
    .map(([capability, actions]) => `${capability}=${actions?.join(',')}`);

/** Every grant, one per line, in the flags' own syntax: `org apiTokens=create,read`, `dataset logs:ingest=create`. */
export function grantLines(token: ApiToken): string[] {
  const scoped = (kind: string, map: Record<string, Grants> | null | undefined) =>
    Object.entries(map ?? {}).flatMap(([name, grants]) =>
      actionList(grants).map((grant) => `${kind} ${name}:${grant}`),
    );
  return [
    ...actionList(token.orgCapabilities as Grants).map((grant) => `org ${grant}`),
    ...scoped('dataset', token.datasetCapabilities as Record<string, Grants>),
    ...scoped('view', token.viewCapabilities as Record<string, Grants>),
  ];
}

const expiry = (token: ApiToken) => token.expiresAt ?? 'never';

/** A short summary for one row of a list: how many org capabilities, which datasets and views. */
function grantSummary(token: ApiToken): string {
  const names = (map: object | null | undefined) => {
    const keys = Object.keys(map ?? {});
    return keys.length <= 3 ? keys.join(',') : `${keys.slice(0, 3).join(',')},+${keys.length - 3}`;
  };
  const parts = [
    `org:${Object.keys(token.orgCapabilities ?? {}).length}`,
    `datasets:${names(token.datasetCapabilities) || '-'}`,
    `views:${names(token.viewCapabilities) || '-'}`,
  ];
  return parts.join(' ');
}

/** Rows under a header, columns padded to their widest cell. */
export function printTable(write: Write, header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
}

export function printTokenList(write: Write, tokens: ApiToken[]): void {
  if (tokens.length === 0) {
    write('No tokens.\n');
    return;
  }
  printTable(
    write,
    ['ID', 'NAME', 'EXPIRES', 'GRANTS'],
    tokens.map((token) => [token.id, token.name, expiry(token), grantSummary(token)]),
  );
}

/** One token, field by field, every grant on its own line. */
export function printToken(write: Write, token: ApiToken): void {
  const grants = grantLines(token);
  const fields: [string, string][] = [
    ['ID', token.id],
    ['Name', token.name],
    ['Description', token.description ?? ''],
    ['Expires', expiry(token)],
    ...(token.notBefore === undefined ? [] : [['Not before', token.notBefore] as [string, string]]),
    ...(token.allowedCidrs ?? []).map((cidr, index): [string, string] => [
      index === 0 ? 'Networks' : '',
      cidr,
    ]),
    ['Grants', grants[0] ?? '(none)'],
    ...grants.slice(1).map((grant): [string, string] => ['', grant]),
  ];
  const width = Math.max(...fields.map(([label]) => label.length)) + 2;
  write(
    `${fields.map(([label, value]) => `${(label ? `${label}:` : '').padEnd(width)}${value}`.trimEnd()).join('\n')}\n`,
  );
}

/** The secret of a token just created or regenerated: the only time it is ever shown. */
export function printSecret(write: Write, secret: string): void {
  write(`\nSecret (shown once, store it now): ${secret}\n`);
}

/** A verification's verdict: its code, the token it is about (never a secret), each missing action. */
export function printVerdict(write: Write, verdict: ApiTokenVerdict): void {
  const fields: [string, string][] = [['Verdict', verdict.code]];
  if ('token' in verdict) fields.push(['Token', `${verdict.token.id} (${verdict.token.name})`]);
  if (verdict.code === 'INSUFFICIENT_CAPABILITIES') {
    verdict.missing.forEach((action, index) => {
      fields.push([index === 0 ? 'Missing' : '', action]);
    });
  }
  if (verdict.code === 'RATE_LIMITED') fields.push(['Retry after', `${verdict.retryAfter} s`]);
  const width = Math.max(...fields.map(([label]) => label.length)) + 2;
  write(
    `${fields.map(([label, value]) => `${(label ? `${label}:` : '').padEnd(width)}${value}`).join('\n')}\n`,
  );
}
