// The retry policy: 2xx delivered, 410 stops the URL, anything else retried with growing, jittered delays for 24 hours.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FIRST_RETRY_MS,
  decideOutcome,
  MAX_RETRY_DELAY_MS,
  RETRY_WINDOW_MS,
  retryDelay,
} from './retries.js';

const createdAt = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(createdAt.getTime() + ms);

describe('decideOutcome', () => {
  it.each([200, 201, 204, 299])('takes %i as delivered', (status) => {
    expect(decideOutcome({ status }, { attempts: 1, createdAt }, at(0), DEFAULT_FIRST_RETRY_MS)).toEqual({
      status: 'delivered',
      nextAttemptAt: null,
      lastStatus: status,
      lastError: null,
    });
  });

  it('stops the URL of a delivery answered 410 Gone', () => {
    expect(decideOutcome({ status: 410 }, { attempts: 3, createdAt }, at(0), DEFAULT_FIRST_RETRY_MS)).toEqual(
      {
        status: 'gone',
        nextAttemptAt: null,
        lastStatus: 410,
        lastError: 'answered 410',
        stopsUrl: true,
      },
    );
  });

  it.each([
    [{ status: 301 }, 301, 'answered 301'],
    [{ status: 404 }, 404, 'answered 404'],
    [{ status: 503 }, 503, 'answered 503'],
    [{ error: 'timed out after 10 s' }, null, 'timed out after 10 s'],
  ])('retries %j, the first retry within 10 s', (result, lastStatus, lastError) => {
    const outcome = decideOutcome(result, { attempts: 1, createdAt }, at(0), DEFAULT_FIRST_RETRY_MS);
    expect(outcome).toMatchObject({ status: 'pending', lastStatus, lastError });
    const delay = (outcome.nextAttemptAt as Date).getTime() - createdAt.getTime();
    expect(delay).toBeGreaterThan(0);
    expect(delay).toBeLessThanOrEqual(10_000);
  });

  it('never schedules past 24 hours after the event, and fails the delivery once they are over', () => {
    const late = decideOutcome(
      { status: 500 },
      { attempts: 30, createdAt },
      at(RETRY_WINDOW_MS - 1000),
      5000,
    );
    expect(late).toMatchObject({ status: 'pending', nextAttemptAt: at(RETRY_WINDOW_MS) });
    expect(decideOutcome({ status: 500 }, { attempts: 31, createdAt }, at(RETRY_WINDOW_MS), 5000)).toEqual({
      status: 'failed',
      nextAttemptAt: null,
      lastStatus: 500,
      lastError: 'answered 500',
    });
  });
});

describe('retryDelay', () => {
  it('doubles per attempt up to an hour, jittered between half and all of it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempts, random) => {
          const full = Math.min(DEFAULT_FIRST_RETRY_MS * 2 ** (attempts - 1), MAX_RETRY_DELAY_MS);
          const delay = retryDelay(attempts, DEFAULT_FIRST_RETRY_MS, () => random);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(full / 2));
          expect(delay).toBeLessThanOrEqual(full);
        },
      ),
    );
  });

  it('grows: the delay bound after more attempts is never smaller', () => {
    for (let attempts = 1; attempts < 40; attempts++)
      expect(retryDelay(attempts + 1, 5000, () => 0)).toBeGreaterThanOrEqual(
        retryDelay(attempts, 5000, () => 0),
      );
  });
});
