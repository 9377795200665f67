// The revocation feed's window: what a reader resuming from an id missed, reset past the window or across a lost feed.
import { describe, expect, it } from 'vitest';
import { FEED_WINDOW_EVENTS, type FeedEvent, type FeedReader, RevocationFeed } from './revocationFeed.js';

const revocation = (n: number) => ({ id: String(n), at: new Date(n), digests: [Buffer.from([n])] });

function reader() {
  const sent: FeedEvent[] = [];
  let ended = false;
  const it: FeedReader & { sent: FeedEvent[]; ended: () => boolean } = {
    sent,
    ended: () => ended,
    send: (event) => sent.push(event),
    end: () => {
      ended = true;
    },
  };
  return it;
}

const ids = (missed: FeedEvent[] | 'reset' | undefined) =>
  missed === 'reset' || missed === undefined ? missed : missed.map((event) => event.id);

describe('RevocationFeed', () => {
  it('keeps at least 100,000 events by default', () => {
    expect(FEED_WINDOW_EVENTS).toBeGreaterThanOrEqual(100_000);
  });

  it('answers what followed an id it holds, reset for one that fell out of the window, nothing without one', () => {
    const feed = new RevocationFeed(() => {}, 3);
    feed.listening();
    for (let n = 1; n <= 5; n++) feed.revoked(revocation(n));
    expect(ids(feed.read(reader(), '3')?.missed)).toEqual(['4', '5']);
    expect(ids(feed.read(reader(), '5')?.missed)).toEqual([]);
    expect(feed.read(reader(), '2')?.missed).toBe('reset');
    expect(feed.read(reader(), 'unknown')?.missed).toBe('reset');
    expect(ids(feed.read(reader())?.missed)).toEqual([]);
    // Far past the capacity, compacting as it goes.
    for (let n = 6; n <= 20; n++) feed.revoked(revocation(n));
    expect(ids(feed.read(reader(), '18')?.missed)).toEqual(['19', '20']);
    expect(feed.read(reader(), '17')?.missed).toBe('reset');
  });

  it('sends each event to every reader as heard, in base64url, and tells the cache', () => {
    const told: string[] = [];
    const feed = new RevocationFeed((heard) => told.push(heard.id));
    feed.listening();
    const [a, b] = [reader(), reader()];
    feed.read(a);
    const stopB = feed.read(b);
    feed.revoked({ id: '1', at: new Date(0), digests: [Buffer.from('fb', 'hex')] });
    stopB?.stop();
    feed.revoked(revocation(2));
    expect(a.sent.map((event) => event.digests)).toEqual([['-w'], ['Ag']]);
    expect(b.sent.map((event) => event.id)).toEqual(['1']);
    expect(told).toEqual(['1', '2']);
  });

  it('cannot be read until listening; a lost feed ends every reader and forgets every id, which then answer reset', () => {
    const feed = new RevocationFeed();
    expect(feed.read(reader())).toBeUndefined();
    feed.listening();
    const open = reader();
    feed.read(open);
    feed.revoked(revocation(1));
    feed.lost();
    expect(open.ended()).toBe(true);
    expect(feed.read(reader())).toBeUndefined();
    feed.listening();
    feed.revoked(revocation(2));
    expect(feed.read(reader(), '1')?.missed).toBe('reset');
    expect(ids(feed.read(reader(), '2')?.missed)).toEqual([]);
  });
});
