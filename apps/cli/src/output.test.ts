// The verdict table of tokens verify: the code, the token (never a secret), each missing action, when to retry.
import type { ApiToken } from '@api-tokens/client';
import { describe, expect, it } from 'vitest';
import { printVerdict } from './output.js';

const token = { id: '5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c', name: 'shipper' } as ApiToken;

function printed(verdict: Parameters<typeof printVerdict>[1]): string {
  let text = '';
  printVerdict((chunk) => {
    text += chunk;
  }, verdict);
  return text;
}

describe('printVerdict', () => {
  it('prints a valid verdict with its token', () => {
    expect(printed({ valid: true, code: 'VALID', token })).toBe(
      'Verdict: VALID\nToken:   5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c (shipper)\n',
    );
  });

  it('lists each missing action on its own line', () => {
    expect(
      printed({
        valid: false,
        code: 'INSUFFICIENT_CAPABILITIES',
        token,
        missing: ['datasetCapabilities.logs.ingest:create', 'orgCapabilities.apiTokens:read'],
      }),
    ).toBe(
      'Verdict: INSUFFICIENT_CAPABILITIES\n' +
        'Token:   5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c (shipper)\n' +
        'Missing: datasetCapabilities.logs.ingest:create\n' +
        '         orgCapabilities.apiTokens:read\n',
    );
  });

  it('says when to retry a rate-limited token, and nothing more for EXPIRED and NOT_FOUND', () => {
    expect(printed({ valid: false, code: 'RATE_LIMITED', retryAfter: 2 })).toBe(
      'Verdict:     RATE_LIMITED\nRetry after: 2 s\n',
    );
    expect(printed({ valid: false, code: 'EXPIRED' })).toBe('Verdict: EXPIRED\n');
    expect(printed({ valid: false, code: 'NOT_FOUND' })).toBe('Verdict: NOT_FOUND\n');
  });
});
