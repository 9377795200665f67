// The TokenStore contract: one suite, run against every store, pinning each promise store.ts makes.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tokenRecord, uniqueDigest } from '../../test/records.js';
import { bootstrapOnce } from '../tokens/bootstrap.js';
import { deletion } from '../tokens/deletion.js';
import { type Issuer, issuedBy } from '../tokens/issuance.js';
import { refusalKey } from '../tokens/refusals.js';
import { type RegenerateRequest, regeneration } from '../tokens/regeneration.js';
import type { AuditEvent, ListPosition, Revocation, TokenRecord, TokenStore } from './store.js';
import { DEFAULT_EXPIRED_TOKEN_RETENTION_MS } from './store.js';

/** The options a contract case may set; every store takes them. */
export interface ContractStoreOptions {
  expiredTokenRetentionMs?: number;
  auditRetentionMs?: number;
  /** 0: no background purge (the default here, so that cases see exactly what they stored). */
  purgeEveryMs?: number;
  expiredRowsReadPerPage?: number;
}

/** How the contract gets stores of one kind. */
export interface StoresUnderTest {
  /** A new, empty store on a database of its own. */
  fresh(options: ContractStoreOptions): Promise<TokenStore>;
  /** Another store on the database of the last fresh one, as a second server process would open it. */
  another(options: ContractStoreOptions): Promise<TokenStore>;
}

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date('2030-01-01T00:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

/**
 * A store's writes as the rules in tokens/ make them: the store makes each atomic, the rule decides
 * it, and the cases below pin both together, as the service uses them.
 */
const ruled = (store: TokenStore) => ({
  insert: (token: TokenRecord, secretDigest: Buffer, issuer?: Issuer, event?: AuditEvent) =>
    store.insert(token, secretDigest, issuer === undefined ? undefined : issuedBy(issuer), event),
  /** Whether a live token with this id existed (and now does not). */
  delete: async (id: string, now: Date, event?: AuditEvent) =>
    typeof (await store.write(
      deletion({ id, now, event: event === undefined ? undefined : () => event }),
    )) === 'object',
  regenerate: (request: RegenerateRequest) => store.write(regeneration(request)),
  /** Whether the bootstrap token was stored. */
  bootstrap: (token: TokenRecord, secretDigest: Buffer, event?: AuditEvent) =>
    store.writeOnce(bootstrapOnce({ token, secretDigest, now: NOW, event })),
  recordRefusals: (events: readonly AuditEvent[]) =>
    store.recordRefusals(events.map((event) => ({ event, mergeKey: refusalKey(event) }))),
});

/** Every page of a walk from the start, as the store answers it. */
async function walk(store: TokenStore, { now = NOW, limit }: { now?: Date; limit: number }) {
  const ids: string[] = [];
  let after: ListPosition | undefined;
  for (let pages = 0; ; pages++) {
    expect(pages).toBeLessThan(10_000); // a walk that does not end fails here, not by timeout
    const page = await store.list({ now, limit, after });
    ids.push(...page.tokens.map((listed) => listed.token.id));
    if (page.next === undefined) return ids;
    after = page.next;
  }
}

/**
 * Declares the contract suite for one kind of store. `subject` is called once per case, after
 * the file's setup has run (a database server may be created in beforeAll).
 */
export function describeTokenStoreContract(name: string, subject: () => StoresUnderTest): void {
  describe(`TokenStore contract: ${name}`, () => {
    const opened: TokenStore[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });
    const track = (store: TokenStore) => {
      opened.push(store);
      return store;
    };
    const open = async (options: ContractStoreOptions = {}) =>
      track(await subject().fresh({ purgeEveryMs: 0, ...options }));
    const openAnother = async (options: ContractStoreOptions = {}) =>
      track(await subject().another({ purgeEveryMs: 0, ...options }));

    async function insert(store: TokenStore, expiresAt: Date | null = null, tokenName?: string) {
      const token = tokenRecord(tokenName, expiresAt);
      expect(await ruled(store).insert(token, uniqueDigest())).toBe('inserted');
      return token;
    }

    const regenerateRequest = (
      id: string,
      issuerId: string,
      overrides: Partial<RegenerateRequest> = {},
    ): RegenerateRequest => ({
      id,
      now: NOW,
      issuer: { id: issuerId, now: NOW },
      existingTokenExpiresAt: at(60_000),
      replacement: tokenRecord('replacement'),
      replacementSecretDigest: uniqueDigest(),
      ...overrides,
    });

    describe('insert and read', () => {
      it('stores a token exactly as given, found by digest and by id, and counted', async () => {
        const store = await open();
        const token: TokenRecord = {
          ...tokenRecord('exact', at(DAY)),
          description: 'described',
          createdAt: new Date('2029-12-31T12:34:56.789Z'),
          datasetCapabilities: { 'logs.prod_1': { query: ['read'], ingest: ['create'] } },
          orgCapabilities: { apiTokens: ['create', 'read'] },
          viewCapabilities: { 'errors-view': { query: ['read'] } },
        };
        const digest = uniqueDigest();
        expect(await ruled(store).insert(token, digest)).toBe('inserted');
        expect(await store.findByDigest(digest)).toStrictEqual(token);
        expect(await store.findById(token.id, NOW)).toStrictEqual(token);
        expect(await store.findByDigest(uniqueDigest())).toBeUndefined();
        expect(await store.findById('no-such-id', NOW)).toBeUndefined();
        expect(await store.count()).toBe(1);
      });

      it('keeps where and when a token works: its networks and its start, through every read and a regeneration', async () => {
        const store = await open();
        const token: TokenRecord = {
          ...tokenRecord('bound', at(DAY)),
          allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'],
          notBefore: new Date('2030-01-01T06:00:00.123Z'),
        };
        const digest = uniqueDigest();
        expect(await ruled(store).insert(token, digest)).toBe('inserted');
        expect(await store.findByDigest(digest)).toStrictEqual(token);
        expect(await store.findById(token.id, NOW)).toStrictEqual(token);
        expect(
          (await store.list({ now: NOW, limit: 10 })).tokens.map((listed) => listed.token),
        ).toStrictEqual([token]);
        const replacement: TokenRecord = {
          ...tokenRecord('replacement', at(DAY)),
          allowedCidrs: ['10.0.0.0/8'],
          notBefore: at(1),
        };
        expect(await ruled(store).regenerate(regenerateRequest(token.id, token.id, { replacement }))).toBe(
          'regenerated',
        );
        expect(await store.findById(replacement.id, NOW)).toStrictEqual(replacement);
      });

      it('keeps capability objects in the order they were stored, as the API answers them', async () => {
        const store = await open();
        const token: TokenRecord = {
          ...tokenRecord('ordered'),
          datasetCapabilities: { zeta: { query: ['read'] }, a: { ingest: ['create'] } },
        };
        await ruled(store).insert(token, uniqueDigest());
        const found = await store.findById(token.id, NOW);
        expect(JSON.stringify(found?.datasetCapabilities)).toBe(JSON.stringify(token.datasetCapabilities));
      });

      it('commits concurrent inserts, and one bad row (a duplicate id) fails alone', async () => {
        const store = await open();
        const a = tokenRecord('a');
        const outcomes = await Promise.allSettled([
          ruled(store).insert(a, uniqueDigest()),
          ruled(store).insert(tokenRecord('b'), uniqueDigest()),
          ruled(store).insert({ ...a }, uniqueDigest()), // the same id again
          ruled(store).insert(tokenRecord('c'), uniqueDigest()),
        ]);
        expect(outcomes.map((outcome) => outcome.status)).toEqual([
          'fulfilled',
          'fulfilled',
          'rejected',
          'fulfilled',
        ]);
        expect(await store.count()).toBe(3);
      });

      it('refuses a second token with the same secret digest', async () => {
        const store = await open();
        const digest = uniqueDigest();
        await ruled(store).insert(tokenRecord(), digest);
        await expect(ruled(store).insert(tokenRecord(), digest)).rejects.toThrow();
        expect(await store.count()).toBe(1);
      });

      it('resolves an insert only once it is durably committed: another store on the database sees it', async () => {
        const store = await open();
        const tokens = Array.from({ length: 50 }, () => tokenRecord('durable'));
        const digests = tokens.map(() => uniqueDigest());
        await Promise.all(tokens.map((token, i) => ruled(store).insert(token, digests[i] as Buffer)));
        const other = await openAnother();
        expect(await other.count()).toBe(50);
        expect(await other.findByDigest(digests[49] as Buffer)).toMatchObject({ id: tokens[49]?.id });
      });

      it('keeps tokens across a close and a reopen', async () => {
        const store = await open();
        const token = tokenRecord('survivor');
        const digest = uniqueDigest();
        await ruled(store).insert(token, digest);
        await store.close();
        const reopened = await openAnother();
        expect(await reopened.findByDigest(digest)).toStrictEqual(token);
      });

      it('answers ping while it can serve', async () => {
        const store = await open();
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });

    describe('the issuer at commit', () => {
      it('inserts only while the issuer is live at the time given', async () => {
        const store = await open();
        const issuer = await insert(store, at(DAY));
        const outcome = (issuerNow: Date) =>
          ruled(store).insert(tokenRecord('issued', at(1000)), uniqueDigest(), {
            id: issuer.id,
            now: issuerNow,
          });
        expect(await outcome(NOW)).toBe('inserted');
        expect(await outcome(at(DAY))).toBe('issuer_gone'); // expired at that instant
        expect(
          await ruled(store).insert(tokenRecord(), uniqueDigest(), { id: 'no-such-issuer', now: NOW }),
        ).toBe('issuer_gone');
        expect(await store.count()).toBe(2);
      });

      it('refuses a token that would outlive its issuer, naming the issuer expiry', async () => {
        const store = await open();
        const issuer = await insert(store, at(DAY));
        const issued = (expiresAt: Date | null) =>
          ruled(store).insert(tokenRecord('issued', expiresAt), uniqueDigest(), { id: issuer.id, now: NOW });
        expect(await issued(null)).toEqual({ outlivesIssuer: at(DAY) });
        expect(await issued(at(DAY + 1))).toEqual({ outlivesIssuer: at(DAY) });
        expect(await issued(at(DAY))).toBe('inserted');
        expect(await store.count()).toBe(2);
      });

      it('refuses an insert whose issuer was deleted by another store on the database', async () => {
        const store = await open();
        const issuer = await insert(store);
        const other = await openAnother();
        expect(await ruled(other).delete(issuer.id, NOW)).toBe(true);
        expect(await ruled(store).insert(tokenRecord(), uniqueDigest(), { id: issuer.id, now: NOW })).toBe(
          'issuer_gone',
        );
        expect(await store.count()).toBe(0);
      });

      it('never commits a token whose issuer is deleted concurrently: either the delete or the insert comes first', async () => {
        const store = await open();
        const other = await openAnother();
        for (let round = 0; round < 20; round++) {
          const issuer = await insert(store);
          const issued = tokenRecord('issued');
          const [inserted, deleted] = await Promise.all([
            ruled(store).insert(issued, uniqueDigest(), { id: issuer.id, now: NOW }),
            ruled(other).delete(issuer.id, NOW),
          ]);
          expect(deleted).toBe(true);
          // Inserted only if the insert committed while the issuer still existed, i.e. before the delete.
          const stored = await store.findById(issued.id, NOW);
          expect(stored !== undefined).toBe(inserted === 'inserted');
        }
      });
    });

    describe('delete', () => {
      it('deletes a live token once, and finds nothing to delete the second time', async () => {
        const store = await open();
        const token = await insert(store);
        expect(await ruled(store).delete(token.id, NOW)).toBe(true);
        expect(await ruled(store).delete(token.id, NOW)).toBe(false);
        expect(await store.findById(token.id, NOW)).toBeUndefined();
        expect(await store.count()).toBe(0);
      });

      it('does not delete an expired token: it no longer exists for any read', async () => {
        const store = await open();
        const token = await insert(store, at(-1));
        expect(await ruled(store).delete(token.id, NOW)).toBe(false);
      });

      it('decides a delete on a caller from the rows read under lock: stronger targets refused, itself and covered ones deleted', async () => {
        const store = await open();
        const strong = await insert(store, null, 'strong');
        const bot: TokenRecord = { ...tokenRecord('bot'), orgCapabilities: { apiTokens: ['delete'] } };
        const covered: TokenRecord = {
          ...tokenRecord('covered'),
          orgCapabilities: { apiTokens: ['delete'] },
        };
        const stronger: TokenRecord = {
          ...tokenRecord('stronger'),
          orgCapabilities: { apiTokens: ['read'] },
        };
        for (const token of [bot, covered, stronger]) await ruled(store).insert(token, uniqueDigest());
        const byBot = (id: string) => store.write(deletion({ id, now: NOW, by: bot }));
        expect(await byBot(stronger.id)).toMatchObject({ refused: { kind: 'forbidden' } });
        expect(await byBot(covered.id)).toEqual({ deleted: undefined });
        expect(await byBot(bot.id)).toEqual({ deleted: undefined });
        // The bot is gone: it grants nothing, not even what it covered.
        expect(await store.write(deletion({ id: strong.id, now: NOW, by: bot }))).toBe('issuer_gone');
        expect(await store.count()).toBe(2);
      });
    });

    describe('regenerate', () => {
      it('cuts the old token to its grace period, marks it replaced, and stores the replacement', async () => {
        const store = await open();
        const admin = await insert(store);
        const old = await insert(store, null, 'old');
        const request = regenerateRequest(old.id, admin.id);
        expect(await ruled(store).regenerate(request)).toBe('regenerated');
        expect(await store.findById(old.id, NOW)).toMatchObject({
          expiresAt: at(60_000),
          replacedBy: request.replacement.id,
        });
        expect(await store.findByDigest(request.replacementSecretDigest)).toStrictEqual(request.replacement);
        expect(await ruled(store).regenerate(regenerateRequest(old.id, admin.id))).toBe(
          'already_regenerated',
        );
        expect(await store.count()).toBe(3);
      });

      it('never extends the old token: a grace period past its expiry leaves the expiry as it was', async () => {
        const store = await open();
        const admin = await insert(store);
        const old = await insert(store, at(1000));
        expect(await ruled(store).regenerate(regenerateRequest(old.id, admin.id))).toBe('regenerated');
        expect((await store.findById(old.id, NOW))?.expiresAt).toEqual(at(1000));
      });

      it('answers not_found for an unknown or expired token, and issuer_gone or outlivesIssuer for the issuer', async () => {
        const store = await open();
        const admin = await insert(store, at(DAY));
        const expired = await insert(store, at(-1));
        const live = await insert(store);
        const shortLived = () => ({ replacement: tokenRecord('replacement', at(1000)) });
        expect(await ruled(store).regenerate(regenerateRequest('no-such-id', admin.id, shortLived()))).toBe(
          'not_found',
        );
        expect(await ruled(store).regenerate(regenerateRequest(expired.id, admin.id, shortLived()))).toBe(
          'not_found',
        );
        expect(await ruled(store).regenerate(regenerateRequest(live.id, 'no-such-issuer'))).toBe(
          'issuer_gone',
        );
        expect(
          await ruled(store).regenerate(
            regenerateRequest(live.id, admin.id, { ...shortLived(), issuer: { id: admin.id, now: at(DAY) } }),
          ),
        ).toBe('issuer_gone');
        expect(await ruled(store).regenerate(regenerateRequest(live.id, admin.id))).toEqual({
          outlivesIssuer: at(DAY),
        });
        expect(await store.count()).toBe(3); // nothing was changed
        expect((await store.findById(live.id, NOW))?.expiresAt).toBeNull();
      });

      it('judges a token regenerating itself by its expiry before the cut', async () => {
        const store = await open();
        const self = await insert(store, at(DAY));
        const request = regenerateRequest(self.id, self.id, {
          replacement: tokenRecord('replacement', at(DAY)),
        });
        expect(await ruled(store).regenerate(request)).toBe('regenerated');
      });

      it('regenerates a token at most once when two stores on the database race', async () => {
        const store = await open();
        const other = await openAnother();
        const admin = await insert(store);
        for (let round = 0; round < 10; round++) {
          const old = await insert(store);
          const outcomes = await Promise.all([
            ruled(store).regenerate(regenerateRequest(old.id, admin.id)),
            ruled(other).regenerate(regenerateRequest(old.id, admin.id)),
            ruled(store).regenerate(regenerateRequest(old.id, admin.id)),
          ]);
          expect(outcomes.filter((outcome) => outcome === 'regenerated')).toHaveLength(1);
          expect(outcomes.filter((outcome) => outcome === 'already_regenerated')).toHaveLength(2);
        }
        expect(await store.count()).toBe(1 + 10 * 2);
      });
    });

    describe('recordUses', () => {
      it('writes a use only when the recorded one is at least the interval older, whichever store writes it', async () => {
        const first = await open();
        const second = await openAnother();
        const token = await insert(first, null, 'used');
        const lastUsed = async () => (await first.findById(token.id, NOW))?.lastUsedAt;

        expect(await lastUsed()).toBeNull();
        await first.recordUses([{ id: token.id, at: at(0) }], 60_000);
        expect(await lastUsed()).toEqual(at(0));
        await second.recordUses([{ id: token.id, at: at(59_999) }], 60_000);
        expect(await lastUsed()).toEqual(at(0));
        await second.recordUses(
          [
            { id: token.id, at: at(60_000) },
            { id: 'gone', at: at(60_000) },
          ],
          60_000,
        );
        expect(await lastUsed()).toEqual(at(60_000));
        await first.recordUses([], 60_000);
      });

      it('records uses while the same tokens are regenerated concurrently, without deadlock or error', async () => {
        const store = await open();
        const other = await openAnother();
        const admin = await insert(store);
        const used = await Promise.all(Array.from({ length: 10 }, () => insert(store)));
        const outcomes = await Promise.all([
          ...used.map((token) => ruled(other).regenerate(regenerateRequest(token.id, admin.id))),
          store.recordUses(
            [...used, admin].reverse().map((token) => ({ id: token.id, at: NOW })),
            60_000,
          ),
          other.recordUses(
            [admin, ...used].map((token) => ({ id: token.id, at: NOW })),
            60_000,
          ),
        ]);
        expect(outcomes.slice(0, used.length).every((outcome) => outcome === 'regenerated')).toBe(true);
        expect((await store.findById(admin.id, NOW))?.lastUsedAt).toEqual(NOW);
      });
    });

    describe('audit events', () => {
      const refusal = (address: string, time: Date, count: number): AuditEvent => ({
        id: `${address}-${time.getTime()}-${count}`,
        time,
        type: 'auth.refused',
        actor: null,
        target: null,
        provenance: { address, requestId: 'r' },
        details: { count },
      });
      const change = (type: AuditEvent['type'], token: TokenRecord): AuditEvent => ({
        id: `${type}-${token.id}`,
        time: NOW,
        type,
        actor: null,
        target: { tokenId: token.id, name: token.name },
        provenance: { address: '10.0.0.9', requestId: 'req-1' },
        details: { name: token.name },
      });

      it('writes a change event if and only if the change is made, in the same transaction', async () => {
        const store = await open();
        const issuer = await insert(store, at(DAY));
        const issue = (token: TokenRecord) =>
          ruled(store).insert(
            token,
            uniqueDigest(),
            { id: issuer.id, now: NOW },
            change('token.created', token),
          );
        const created = tokenRecord('created', at(1000));
        expect(await issue(created)).toBe('inserted');
        const refused = tokenRecord('refused');
        expect(await issue(refused)).toEqual({ outlivesIssuer: at(DAY) });
        const request = regenerateRequest(created.id, issuer.id, {
          replacement: tokenRecord('replacement', at(1000)),
        });
        expect(
          await ruled(store).regenerate({ ...request, event: change('token.regenerated', created) }),
        ).toBe('regenerated');
        expect(
          await ruled(store).regenerate({
            ...regenerateRequest(created.id, issuer.id),
            event: change('token.regenerated', issuer),
          }),
        ).not.toBe('regenerated');
        expect(
          await ruled(store).delete(
            request.replacement.id,
            NOW,
            change('token.deleted', request.replacement),
          ),
        ).toBe(true);
        expect(await ruled(store).delete('no-such-id', NOW, change('token.deleted', refused))).toBe(false);

        const { events } = await store.listAuditEvents({ limit: 10 });
        expect(events.map((event) => [event.type, event.target?.tokenId])).toEqual([
          ['token.deleted', request.replacement.id],
          ['token.regenerated', created.id],
          ['token.created', created.id],
        ]);
        expect(events[2]).toEqual(change('token.created', created));
      });

      it('in one group commit, writes the inserts whose check passes, with their events, and none of a refused one', async () => {
        const store = await open();
        const issuer = await insert(store, at(DAY));
        const gone = await insert(store);
        expect(await ruled(store).delete(gone.id, NOW)).toBe(true);
        const tokens = [
          tokenRecord('outlives-issuer'),
          tokenRecord('issuer-gone'),
          tokenRecord('kept', at(1000)),
        ];
        const issuers = [issuer.id, gone.id, issuer.id];
        // Queued in one turn of the event loop, so committed together: two of the three checks fail.
        const outcomes = await Promise.all(
          tokens.map((token, index) =>
            ruled(store).insert(
              token,
              uniqueDigest(),
              { id: issuers[index] as string, now: NOW },
              change('token.created', token),
            ),
          ),
        );
        expect(outcomes).toEqual([{ outlivesIssuer: at(DAY) }, 'issuer_gone', 'inserted']);
        const { events } = await store.listAuditEvents({ limit: 10 });
        expect(events.map((event) => event.target?.tokenId)).toEqual([tokens[2]?.id]);
        expect(await store.findById(tokens[2]?.id as string, NOW)).toStrictEqual(tokens[2]);
        expect(await store.count()).toBe(2);
      });

      it('writes the bootstrap event only with the bootstrap token', async () => {
        const store = await open();
        const first = tokenRecord('first');
        expect(await ruled(store).bootstrap(first, uniqueDigest(), change('token.bootstrapped', first))).toBe(
          true,
        );
        const again = tokenRecord('again');
        expect(await ruled(store).bootstrap(again, uniqueDigest(), change('token.bootstrapped', again))).toBe(
          false,
        );
        const { events } = await store.listAuditEvents({ limit: 10 });
        expect(events.map((event) => [event.type, event.target?.tokenId])).toEqual([
          ['token.bootstrapped', first.id],
        ]);
      });

      it('lists newest first, a page at a time, filtered by type, token and time', async () => {
        const store = await open();
        const tokens = [tokenRecord('a'), tokenRecord('b'), tokenRecord('c')];
        for (const [index, token] of tokens.entries()) {
          await ruled(store).insert(token, uniqueDigest(), undefined, {
            ...change('token.created', token),
            time: at(index * 1000),
          });
        }
        await ruled(store).delete(tokens[0]?.id as string, NOW, {
          ...change('token.deleted', tokens[0] as TokenRecord),
          time: at(5000),
        });
        const walked: string[] = [];
        let after: number | undefined;
        do {
          const page = await store.listAuditEvents({ limit: 3, after });
          walked.push(...page.events.map((event) => event.id));
          after = page.next;
        } while (after !== undefined);
        expect(walked).toEqual([
          `token.deleted-${tokens[0]?.id}`,
          ...[...tokens].reverse().map((token) => `token.created-${token.id}`),
        ]);
        const ids = async (query: Omit<Parameters<TokenStore['listAuditEvents']>[0], 'limit'>) =>
          (await store.listAuditEvents({ limit: 10, ...query })).events.map((event) => event.id);
        expect(await ids({ type: 'token.deleted' })).toEqual([`token.deleted-${tokens[0]?.id}`]);
        expect(await ids({ tokenId: tokens[1]?.id })).toEqual([`token.created-${tokens[1]?.id}`]);
        expect(await ids({ since: at(1000), until: at(5000) })).toEqual([
          `token.created-${tokens[2]?.id}`,
          `token.created-${tokens[1]?.id}`,
        ]);
      });

      it('purges events older than the audit retention, in the purge with the tokens', async () => {
        const store = await open({ auditRetentionMs: 60_000 });
        await ruled(store).recordRefusals([
          refusal('10.0.0.1', at(0), 1),
          refusal('10.0.0.2', at(90_000), 1),
        ]);
        await store.purgeExpired(at(120_000));
        const { events } = await store.listAuditEvents({ limit: 10 });
        expect(events.map((event) => event.provenance?.address)).toEqual(['10.0.0.2']);
      });

      it('merges refusals of one address within one UTC minute, keeping the first, adding the counts, across stores', async () => {
        const store = await open();
        const other = await openAnother();
        await ruled(store).recordRefusals([
          refusal('10.0.0.1', at(1000), 3),
          refusal('10.0.0.3', at(1000), 1),
        ]);
        await ruled(other).recordRefusals([refusal('10.0.0.1', at(59_000), 4)]);
        await ruled(store).recordRefusals([refusal('10.0.0.1', at(60_000), 5)]);
        const { events } = await store.listAuditEvents({ limit: 10 });
        expect(events.map((event) => [event.provenance?.address, event.time, event.details])).toEqual([
          ['10.0.0.1', at(60_000), { count: 5 }],
          ['10.0.0.3', at(1000), { count: 1 }],
          ['10.0.0.1', at(1000), { count: 7 }],
        ]);
        await ruled(store).recordRefusals([]);
      });
    });

    describe('revocations', () => {
      /** A listener of `store`, ready once it hears revocations; what it heard, in order. */
      async function listening(store: TokenStore) {
        const heard: Revocation[] = [];
        let ready = false;
        const stop = store.listenForRevocations({
          revoked: (revocation) => heard.push(revocation),
          lost: () => {
            ready = false;
          },
          listening: () => {
            ready = true;
          },
        });
        await vi.waitFor(() => expect(ready).toBe(true), { timeout: 10_000, interval: 10 });
        /** The digests heard, once at least `count` have been. */
        const digests = async (count: number) => {
          await vi.waitFor(
            () => expect(heard.flatMap((r) => r.digests).length).toBeGreaterThanOrEqual(count),
            {
              timeout: 10_000,
              interval: 10,
            },
          );
          return heard.flatMap((revocation) => revocation.digests);
        };
        return { heard, digests, stop };
      }

      it('publishes the digests of the tokens a rule revokes once its write commits, and nothing for a write refused', async () => {
        const store = await open();
        const listener = await listening(store);
        const expired = await insert(store, at(-1));
        // Not live: the rule refuses the delete and names nothing.
        expect(await ruled(store).delete(expired.id, NOW)).toBe(false);
        const digest = uniqueDigest();
        const token = tokenRecord('deleted');
        await ruled(store).insert(token, digest);
        expect(await ruled(store).delete(token.id, NOW)).toBe(true);
        expect(await listener.digests(1)).toEqual([digest]);
        const admin = await insert(store);
        const oldDigest = uniqueDigest();
        const old = tokenRecord('regenerated');
        await ruled(store).insert(old, oldDigest);
        expect(await ruled(store).regenerate(regenerateRequest(old.id, admin.id))).toBe('regenerated');
        expect(await listener.digests(2)).toEqual([digest, oldDigest]);
        const ids = listener.heard.map((revocation) => revocation.id);
        expect(new Set(ids).size, 'each revocation its own id').toBe(ids.length);
        listener.stop();
      });

      it('publishes what a once-write revokes, as a locked write does', async () => {
        const store = await open();
        const listener = await listening(store);
        const digest = uniqueDigest();
        const token = tokenRecord('revoked once');
        await ruled(store).insert(token, digest);
        await store.writeOnce({
          fact: 'contract-revokes-once',
          decide: () => ({ outcome: undefined, writes: { revoke: [token.id], delete: token.id } }),
        });
        expect(await listener.digests(1)).toEqual([digest]);
        listener.stop();
      });

      it('publishes every digest of a write that revokes many tokens (PostgreSQL splits them under the NOTIFY payload limit)', async () => {
        const store = await open();
        const listener = await listening(store);
        const digests: Buffer[] = [];
        const ids: string[] = [];
        for (let i = 0; i < 400; i++) {
          const token = tokenRecord(`many ${i}`);
          const digest = uniqueDigest();
          await ruled(store).insert(token, digest);
          digests.push(digest);
          ids.push(token.id);
        }
        await store.write({ lock: ids, decide: () => ({ outcome: undefined, writes: { revoke: ids } }) });
        const heard = await listener.digests(400);
        expect(heard.map((digest) => digest.toString('hex')).sort()).toEqual(
          digests.map((digest) => digest.toString('hex')).sort(),
        );
        listener.stop();
      });
    });

    describe('writeOnce (bootstrap)', () => {
      it('stores the bootstrap token once in the life of the store, even after every token is deleted', async () => {
        const store = await open();
        const first = tokenRecord('bootstrap');
        expect(await ruled(store).bootstrap(first, uniqueDigest())).toBe(true);
        expect(await ruled(store).delete(first.id, NOW)).toBe(true);
        expect(await store.count()).toBe(0);
        expect(await ruled(store).bootstrap(tokenRecord('again'), uniqueDigest())).toBe(false);
        expect(await store.count()).toBe(0);
      });

      it('counts a store that already has tokens as bootstrapped', async () => {
        const store = await open();
        await insert(store);
        expect(await ruled(store).bootstrap(tokenRecord('bootstrap'), uniqueDigest())).toBe(false);
        expect(await store.count()).toBe(1);
      });

      it('bootstraps once when several stores on one new database try together', async () => {
        const store = await open();
        const others = await Promise.all([openAnother(), openAnother()]);
        const outcomes = await Promise.all(
          [store, ...others, store].map((each) =>
            ruled(each).bootstrap(tokenRecord('bootstrap'), uniqueDigest()),
          ),
        );
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        expect(await store.count()).toBe(1);
      });
    });

    describe('list', () => {
      it('lists live tokens in the order they were committed, after a given position', async () => {
        const store = await open();
        const tokens = [];
        for (let i = 0; i < 5; i++) tokens.push(await insert(store, i === 2 ? at(-1) : null));
        const page = await store.list({ now: NOW, limit: 10 });
        const ids = page.tokens.map((listed) => listed.token.id);
        expect(ids).toEqual([tokens[0], tokens[1], tokens[3], tokens[4]].map((token) => token?.id));
        expect(page.next).toBeUndefined();
        const rest = await store.list({ now: NOW, limit: 10, after: page.tokens[1]?.position });
        expect(rest.tokens.map((listed) => listed.token.id)).toEqual([tokens[3]?.id, tokens[4]?.id]);
        // A token expired at `now` is not listed: expiry is exact to the millisecond.
        const later = await store.list({ now: at(0), limit: 10 });
        expect(later.tokens).toHaveLength(4);
      });

      it('lists the replacement of a regenerate after every token committed before it', async () => {
        const store = await open();
        const admin = await insert(store);
        const old = await insert(store);
        const request = regenerateRequest(old.id, admin.id);
        await ruled(store).regenerate(request);
        expect(await walk(store, { limit: 2 })).toEqual([admin.id, old.id, request.replacement.id]);
      });

      it('walks every token that existed when the walk began exactly once while three stores insert concurrently', async () => {
        const store = await open();
        const other = await openAnother();
        const third = await openAnother();
        // Every token whose insert has resolved, in the order they resolved.
        const committed: string[] = [];
        for (let i = 0; i < 30; i++) committed.push((await insert(store)).id);
        let writing = true;
        const writer = async (on: TokenStore) => {
          while (writing) {
            const token = tokenRecord('concurrent');
            await ruled(on).insert(token, uniqueDigest());
            committed.push(token.id);
          }
        };
        // Many small transactions from several stores, so that commits overlap as much as they can.
        const writers = [store, other, third, other, third].map(writer);
        try {
          for (let round = 0; round < 8; round++) {
            const existed = [...committed];
            const seen: { id: string; position: ListPosition }[] = [];
            let after: ListPosition | undefined;
            for (;;) {
              const page = await (round % 2 === 0 ? store : other).list({ now: NOW, limit: 7, after });
              seen.push(...page.tokens.map((listed) => ({ id: listed.token.id, position: listed.position })));
              if (page.next === undefined || seen.length > existed.length + 400) break;
              after = page.next;
            }
            const ids = seen.map((entry) => entry.id);
            expect(new Set(ids).size, 'no token repeated').toBe(ids.length);
            // Exactly the promise: every token that existed when the walk began, each once; one
            // created during the walk may or may not appear.
            const walked = new Set(ids);
            expect(
              existed.filter((id) => !walked.has(id)),
              'every token stored before the walk',
            ).toEqual([]);
            const positions = seen.map((entry) => entry.position);
            expect(positions).toEqual([...positions].sort((a, b) => a - b));
          }
        } finally {
          writing = false;
        }
        await Promise.all(writers);
        expect(await store.count()).toBe(committed.length);
      });

      describe('past expired rows', () => {
        const EXPIRED_ROWS_READ_PER_PAGE = 5;

        /** A store of live tokens separated by runs of expired ones, some runs longer than a page reads. */
        async function interleaved() {
          const store = await open({ expiredRowsReadPerPage: EXPIRED_ROWS_READ_PER_PAGE });
          const live: string[] = [];
          for (const run of [0, 3, 12, 0, 40, 1, 6, 0, 25]) {
            for (let i = 0; i < run; i++) await insert(store, at(-1));
            live.push((await insert(store, null)).id);
          }
          for (let i = 0; i < 30; i++) await insert(store, at(-1)); // a dead tail
          return { store, live };
        }

        it('reads a bounded number of expired rows per page, ending the page early with a next position', async () => {
          const { store } = await interleaved();
          const reads: number[] = [];
          let after: number | undefined;
          for (;;) {
            const page = await store.list({ now: NOW, limit: 2, after });
            const read = page.next === undefined ? undefined : page.next - (after ?? 0);
            if (read !== undefined) reads.push(read);
            expect(page.tokens.length).toBeLessThanOrEqual(2);
            if (page.next === undefined) break;
            after = page.next;
          }
          // Positions are consecutive here, so a page's span is the rows it read: never more than
          // the page (plus the one that tells whether more follow) and the bound of expired rows.
          expect(Math.max(...reads)).toBeLessThanOrEqual(2 + 1 + EXPIRED_ROWS_READ_PER_PAGE);
        });

        it('walks every live token exactly once, in order, whatever the page size; pages may hold fewer than the limit', async () => {
          const { store, live } = await interleaved();
          for (const limit of [1, 2, 3, 7, 1000]) {
            const walked: string[] = [];
            let short = 0;
            let after: ListPosition | undefined;
            let pages = 0;
            do {
              const page = await store.list({ now: NOW, limit, after });
              walked.push(...page.tokens.map((listed) => listed.token.id));
              if (page.next !== undefined && page.tokens.length < limit) short++;
              after = page.next;
              pages++;
              expect(pages).toBeLessThan(200); // a walk that does not end fails here, not by timeout
            } while (after !== undefined);
            expect(walked).toEqual(live);
            if (limit < 1000) expect(short).toBeGreaterThan(0);
          }
        });

        it('ends the walk without a next page when only expired rows follow', async () => {
          const store = await open({ expiredRowsReadPerPage: EXPIRED_ROWS_READ_PER_PAGE });
          const live = await insert(store, null);
          for (let i = 0; i < EXPIRED_ROWS_READ_PER_PAGE; i++) await insert(store, at(-1));
          const page = await store.list({ now: NOW, limit: 1 });
          expect(page.tokens.map((listed) => listed.token.id)).toEqual([live.id]);
          expect(page.next).toBeUndefined();
        });
      });
    });

    describe('purgeExpired', () => {
      it('deletes exactly the tokens expired for longer than the retention period, a week by default', async () => {
        expect(DEFAULT_EXPIRED_TOKEN_RETENTION_MS).toBe(604_800_000);
        const store = await open();
        const gone = await insert(store, at(-7 * DAY - 1));
        const keptAtTheBound = await insert(store, at(-7 * DAY));
        const recentlyExpired = await insert(store, at(-1));
        const live = await insert(store, at(1));
        const forever = await insert(store, null);

        expect(await store.purgeExpired(NOW)).toBe(1);
        const ids = (await store.list({ now: new Date(0), limit: 10 })).tokens.map(
          (listed) => listed.token.id,
        );
        expect(ids).toEqual([keptAtTheBound.id, recentlyExpired.id, live.id, forever.id]);
        expect(ids).not.toContain(gone.id);
        expect(await store.purgeExpired(NOW)).toBe(0);
      });

      it('honours expiredTokenRetentionMs, and purges a replaced token once its grace period is that long past', async () => {
        const store = await open({ expiredTokenRetentionMs: 60_000 });
        const old = await insert(store, null, 'rotated');
        const replacement = tokenRecord('replacement');
        const outcome = await ruled(store).regenerate({
          id: old.id,
          now: NOW,
          issuer: { id: old.id, now: NOW },
          existingTokenExpiresAt: NOW,
          replacement,
          replacementSecretDigest: uniqueDigest(),
        });
        expect(outcome).toBe('regenerated');
        expect(await store.purgeExpired(at(60_000))).toBe(0);
        expect(await store.purgeExpired(at(60_001))).toBe(1);
        expect(await store.count()).toBe(1);
        expect(await store.findById(replacement.id, NOW)).toMatchObject({ name: 'replacement' });
      });

      it('works through a backlog larger than one batch', async () => {
        const store = await open();
        const expired = 1207;
        await Promise.all(Array.from({ length: expired }, () => insert(store, at(-30 * DAY))));
        const live = await insert(store, null, 'live');
        expect(await store.purgeExpired(NOW)).toBe(expired);
        expect(await store.count()).toBe(1);
        expect(await store.findById(live.id, NOW)).toBeDefined();
      });

      it('runs on its own timer', async () => {
        const store = await open({ purgeEveryMs: 20 });
        // Expired more than a week ago by the real clock, which the background purge reads.
        await insert(store, new Date(Date.now() - 8 * DAY));
        await insert(store, null);
        await expect.poll(() => store.count(), { timeout: 5000 }).toBe(1);
      });

      it('keeps expiry exact before the purge: an expired, unpurged token is found by nothing but its digest', async () => {
        const store = await open();
        const token = tokenRecord('expired', at(-1));
        const secretDigest = uniqueDigest();
        await ruled(store).insert(token, secretDigest);
        expect(await store.findById(token.id, NOW)).toBeUndefined();
        expect((await store.list({ now: NOW, limit: 10 })).tokens).toEqual([]);
        expect(await ruled(store).delete(token.id, NOW)).toBe(false);
        // By digest it is found with its expiry, for authentication to refuse it as expired.
        expect((await store.findByDigest(secretDigest))?.expiresAt).toEqual(token.expiresAt);
      });
    });
  });
}
