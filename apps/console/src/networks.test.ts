import { describe, expect, it } from 'vitest';
import { cidrsOf, notBeforeOf } from './networks';

describe('cidrsOf', () => {
  it('takes one network per line, commas and spaces separating too, blanks dropped', () => {
    expect(cidrsOf('203.0.113.0/24\n2001:db8::/32, 10.0.0.0/8  \n\n')).toEqual([
      '203.0.113.0/24',
      '2001:db8::/32',
      '10.0.0.0/8',
    ]);
  });

  it('is empty (anywhere) for an empty field', () => {
    expect(cidrsOf('')).toEqual([]);
    expect(cidrsOf(' \n ')).toEqual([]);
  });
});

describe('notBeforeOf', () => {
  it('reads a local date and time as that instant', () => {
    const at = new Date(notBeforeOf('2027-03-04T09:30') ?? '');
    expect([at.getFullYear(), at.getMonth(), at.getDate(), at.getHours(), at.getMinutes()]).toEqual([
      2027, 2, 4, 9, 30,
    ]);
  });

  it('is undefined when nothing, or nothing valid, is given', () => {
    expect(notBeforeOf('')).toBeUndefined();
    expect(notBeforeOf('2027-03-04')).toBeUndefined();
  });
});
