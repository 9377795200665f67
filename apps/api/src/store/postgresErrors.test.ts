// The classification of PostgreSQL's errors: the environment's (503) apart from bugs and bad data (500). Real servers' answers: test/databaseAway.test.ts.
import { describe, expect, it } from 'vitest';
import { isMissingDatabase, toStoreError, unavailableReason } from './postgresErrors.js';
import { StoreUnavailableError } from './store.js';

/** An error as pg builds it from a server's ErrorResponse. */
const serverError = (code: string, message = 'from the server') =>
  Object.assign(new Error(message), { code });

describe('unavailableReason', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, 'cannot reach the database'],
    [{ code: 'ECONNRESET' }, 'cannot reach the database'],
    [{ code: 'EPIPE' }, 'cannot reach the database'],
    [{ code: 'ETIMEDOUT' }, 'cannot reach the database'],
    [{ code: '08006' }, 'the connection to the database failed'],
    [{ code: '08001' }, 'the connection to the database failed'],
    [{ code: '57P01' }, 'the database is restarting'],
    [{ code: '57P02' }, 'the database is restarting'],
    [{ code: '57P03' }, 'the database is restarting'],
    [{ code: '3D000' }, 'the database does not exist'],
    [{ code: '53300' }, 'the database has no free connections'],
    [{ code: '53100' }, 'the database disk is full'],
    [{ code: '53200' }, 'the database is out of resources'],
    [{ code: '25006' }, 'the database is read-only'],
    [
      serverError('55000', 'database "tokens" is not currently accepting connections'),
      'the database is not accepting connections',
    ],
    [new Error('Connection terminated unexpectedly'), 'cannot reach the database'],
    [new Error('Connection terminated due to connection timeout'), 'cannot reach the database'],
    [new Error('timeout exceeded when trying to connect'), 'cannot reach the database'],
  ])('maps %o to %s', (err, reason) => {
    expect(unavailableReason(err)).toBe(reason);
  });

  it.each([
    { code: '23505' }, // a duplicate: the request's, not the environment's
    { code: '42P01' }, // undefined table: a bug
    { code: '22P02' }, // invalid text representation: bad data
    serverError('55000', 'currval of sequence "s" is not yet defined in this session'), // 55000 of a statement: a bug
    new Error('something else'),
    undefined,
    null,
  ])('leaves %o alone', (err) => {
    expect(unavailableReason(err)).toBeUndefined();
  });
});

describe('toStoreError', () => {
  it('wraps what is unavailable, keeping the cause, and passes anything else through', () => {
    const refused = serverError('53300', 'sorry, too many clients already');
    const wrapped = toStoreError(refused);
    expect(wrapped).toBeInstanceOf(StoreUnavailableError);
    expect(wrapped).toMatchObject({ reason: 'the database has no free connections', cause: refused });
    const bug = serverError('42601', 'syntax error');
    expect(toStoreError(bug)).toBe(bug);
    const already = new StoreUnavailableError('cannot reach the database');
    expect(toStoreError(already)).toBe(already);
  });

  it('tells a missing database apart, for start-up to refuse at once', () => {
    expect(isMissingDatabase(serverError('3D000'))).toBe(true);
    expect(isMissingDatabase(serverError('57P03'))).toBe(false);
  });
});
