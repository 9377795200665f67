// getAPITokenRevocations, happy paths: every revocation on the stream as the digests a receiving service computes, resumable by id.
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHarness, type Harness, spec } from '../../test/harness.js';
import { openStream, type SseStream } from '../../test/sse.js';

let harness: Harness;
let server: Server;
let url: string;
const streams: SseStream[] = [];

beforeAll(async () => {
  harness = await createHarness();
  server = harness.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${spec.servers[0]?.url ?? ''}/tokens/revocations`;
  // On PostgreSQL the feed exists once the LISTEN connection listens.
  await vi.waitFor(() => expect(harness.tokens.revocationFeed.isListening).toBe(true), { timeout: 10_000 });
}, 30_000);
afterEach(() => {
  for (const stream of streams.splice(0)) stream.close();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** What a receiving service computes from a secret it holds. */
const digestOf = (secret: string) => createHash('sha256').update(secret).digest('base64url');

async function open(options: { lastEventId?: string; secret?: string } = {}) {
  const stream = await openStream(url, { secret: options.secret ?? harness.adminSecret, ...options });
  streams.push(stream);
  return stream;
}

async function created(name = 'revoked') {
  const answer = await harness.createToken(harness.adminSecret, { name }).expect(200);
  return { id: answer.body.id as string, secret: answer.body.token as string };
}

const revoke = async (id: string) => harness.as(harness.adminSecret).delete(`/tokens/${id}`).expect(204);

const dataOf = (event: { data: string }) => JSON.parse(event.data) as { digests: string[]; at: string };

describe('getAPITokenRevocations', () => {
  it('streams a delete as the digest of its secret, with an id, as text/event-stream', async () => {
    const stream = await open();
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const token = await created();
    await revoke(token.id);
    const event = await stream.next();
    expect(event.event).toBe('message');
    expect(event.id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(dataOf(event).digests).toEqual([digestOf(token.secret)]);
    expect(Date.parse(dataOf(event).at)).not.toBeNaN();
    // Never the secret itself.
    expect(event.data).not.toContain(token.secret);
  });

  it('streams a regenerate (the old secret, cut to its grace period) and a leaked-secret report', async () => {
    const stream = await open();
    const old = await created('rotated');
    const regenerated = await harness
      .as(harness.adminSecret)
      .post(`/tokens/${old.id}/regenerate`, { existingTokenExpiresAt: '2030-01-01T01:00:00Z' })
      .expect(200);
    expect(dataOf(await stream.next()).digests).toEqual([digestOf(old.secret)]);
    await harness
      .as(undefined)
      .post('/tokens/leaked', { tokens: [regenerated.body.token] })
      .expect(202);
    expect(dataOf(await stream.next()).digests).toEqual([digestOf(regenerated.body.token)]);
  });

  it('resumes after Last-Event-ID with what was committed since, on a new connection', async () => {
    const first = await open();
    const [a, b, c] = [await created('a'), await created('b'), await created('c')];
    await revoke(a.id);
    const seenA = await first.next();
    await revoke(b.id);
    await first.next();
    first.close();
    await revoke(c.id);
    const resumed = await open({ lastEventId: seenA.id });
    expect(dataOf(await resumed.next()).digests).toEqual([digestOf(b.secret)]);
    const seenC = await resumed.next();
    expect(dataOf(seenC).digests).toEqual([digestOf(c.secret)]);
    // Up to date: resuming from the last id misses nothing, and the next revocation follows.
    const current = await open({ lastEventId: seenC.id });
    const d = await created('d');
    await revoke(d.id);
    expect(dataOf(await current.next()).digests).toEqual([digestOf(d.secret)]);
  });

  it('answers reset, with an empty id, for an id it does not hold, then goes on with new revocations', async () => {
    const stream = await open({ lastEventId: 'no-such-event' });
    const reset = await stream.next();
    expect(reset.event).toBe('reset');
    expect(reset.id).toBe('');
    expect(Date.parse((JSON.parse(reset.data) as { at: string }).at)).not.toBeNaN();
    const token = await created();
    await revoke(token.id);
    expect(dataOf(await stream.next()).digests).toEqual([digestOf(token.secret)]);
  });

  it("ends a reader's stream with the revocation of the reader's own token, which then reads no more", async () => {
    const reader = await harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    const stream = await open({ secret: reader });
    const self = await harness.as(reader).get('/tokens/self').expect(200);
    await revoke(self.body.id as string);
    expect(dataOf(await stream.next()).digests).toEqual([digestOf(reader)]);
    await expect(stream.ended).resolves.toBeUndefined();
    // Reconnecting with it is refused like any revoked token.
    await harness.as(reader).get('/tokens/revocations').expect(401);
  });
});
