// OutageWatch: one start and one end per outage, however many failures it reports in between.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutageWatch } from './outage.js';
import { StoreUnavailableError } from './store.js';

const PROBE_EVERY_MS = 1000;

describe('OutageWatch', () => {
  let answering: boolean;
  let pings: number;
  let started: StoreUnavailableError[];
  let ended: { durationMs: number; failures: number }[];
  let watch: OutageWatch;
  beforeEach(() => {
    vi.useFakeTimers();
    answering = false;
    pings = 0;
    started = [];
    ended = [];
    watch = new OutageWatch({
      ping: async () => {
        pings++;
        if (!answering) throw new StoreUnavailableError('cannot reach the database');
      },
      onStart: (err) => void started.push(err),
      onEnd: (outage) => void ended.push(outage),
      probeEveryMs: PROBE_EVERY_MS,
    });
  });
  afterEach(() => {
    watch.close();
    vi.useRealTimers();
  });

  const failure = (reason = 'cannot reach the database') => new StoreUnavailableError(reason);

  it('tells the start once, with the first failure, however many follow', async () => {
    const first = failure('the database is restarting');
    watch.report(first);
    for (let i = 0; i < 50; i++) watch.report(failure());
    await vi.advanceTimersByTimeAsync(5 * PROBE_EVERY_MS);
    expect(started).toEqual([first]);
    expect(watch.unavailable).toBe(true);
    expect(ended).toEqual([]);
    expect(pings).toBeGreaterThan(0);
  });

  it('tells the end once, when the store answers, with how long it lasted and how many failures it saw', async () => {
    watch.report(failure());
    watch.report(failure());
    await vi.advanceTimersByTimeAsync(3 * PROBE_EVERY_MS);
    answering = true;
    await vi.advanceTimersByTimeAsync(2 * PROBE_EVERY_MS);
    expect(ended).toHaveLength(1);
    expect(ended[0]?.failures).toBe(2);
    expect(ended[0]?.durationMs).toBeGreaterThanOrEqual(4 * PROBE_EVERY_MS);
    expect(watch.unavailable).toBe(false);
    // Quiet afterwards: no more probing, nothing more told.
    const pinged = pings;
    await vi.advanceTimersByTimeAsync(10 * PROBE_EVERY_MS);
    expect(pings).toBe(pinged);
    expect(ended).toHaveLength(1);
  });

  it('does not end an outage while failures keep coming, even if a ping passes (writes failing, reads passing)', async () => {
    answering = true;
    watch.report(failure('the database disk is full'));
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(PROBE_EVERY_MS / 2);
      watch.report(failure('the database disk is full'));
    }
    expect(ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(3 * PROBE_EVERY_MS);
    expect(ended).toHaveLength(1);
    expect(started).toHaveLength(1);
  });

  it('tells a second outage as a new one', async () => {
    watch.report(failure());
    answering = true;
    await vi.advanceTimersByTimeAsync(3 * PROBE_EVERY_MS);
    answering = false;
    watch.report(failure('the database has no free connections'));
    expect(started.map((err) => err.reason)).toEqual([
      'cannot reach the database',
      'the database has no free connections',
    ]);
    expect(ended).toHaveLength(1);
  });

  it('counts a ping that throws at once as failed, without an unhandled rejection', async () => {
    const throwing = new OutageWatch({
      ping: () => {
        throw new TypeError('the store is not open yet');
      },
      onStart: () => {},
      onEnd: (outage) => void ended.push(outage),
      probeEveryMs: PROBE_EVERY_MS,
    });
    throwing.report(failure());
    await vi.advanceTimersByTimeAsync(5 * PROBE_EVERY_MS);
    expect(throwing.unavailable).toBe(true);
    expect(ended).toEqual([]);
    throwing.close();
  });

  it('tells nothing once closed', async () => {
    watch.report(failure());
    watch.close();
    answering = true;
    await vi.advanceTimersByTimeAsync(5 * PROBE_EVERY_MS);
    watch.report(failure());
    expect(ended).toEqual([]);
    expect(started).toHaveLength(1);
  });
});
