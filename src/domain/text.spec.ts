import fc from 'fast-check';
import { excerpt, storable, textProblem, unstorableText } from './text';

describe('text rules', () => {
  it('refuses NUL and unpaired surrogates anywhere, and accepts paired ones', () => {
    expect(unstorableText('a\u0000b')).toMatch(/U\+0000/);
    for (const t of ['\uD800', 'x\uDBFFy', '\uDC00', 'a\uDC00\uD800b']) expect(unstorableText(t)).toMatch(/unpaired UTF-16 surrogate/);
    expect(unstorableText('\u{1D49C} ok ر.س')).toBeNull();
  });

  it('single-line text holds no control character; free text may hold line breaks and tabs', () => {
    expect(textProblem('a\nb', { maxLength: 10 })).toBe('holds a control character');
    expect(textProblem('a\nb\tc\r\n', { maxLength: 10, multiline: true })).toBeNull();
    expect(textProblem('a\u0007b', { maxLength: 10, multiline: true })).toBe('holds a control character');
    expect(textProblem('abcdef', { maxLength: 5 })).toBe('is longer than 5 characters');
  });

  it('property: a string passes exactly when it survives the round trip to UTF-8 and holds no NUL', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom('\u0000', '\uD800', '\uDC00', '\uD83D\uDE00', 'a'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))), maxLength: 20 }), (s) => {
        const roundTrips = Buffer.from(s, 'utf8').toString('utf8') === s;
        expect(unstorableText(s) === null).toBe(roundTrips && !s.includes('\u0000'));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('storable', () => {
  it('replaces what cannot be stored with U+FFFD and keeps everything else', () => {
    expect(storable('a\u0000b\uD800c\u{1D49C}')).toBe('a\uFFFDb\uFFFDc\u{1D49C}');
    expect(unstorableText(storable('\uDC00\u0000\uD83D'))).toBeNull();
  });
});

describe('excerpt', () => {
  it('cuts at the limit but never inside a surrogate pair', () => {
    expect(excerpt('abc', 5)).toBe('abc');
    expect(excerpt('ab\u{1F600}cd', 3)).toBe('ab');
    expect(excerpt('abcd\u{1F600}', 4)).toBe('abcd');
    expect(unstorableText(excerpt('x'.repeat(499) + '\u{1F600}'))).toBeNull();
  });
});
