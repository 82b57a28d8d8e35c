import { describe, expect, it } from 'vitest';
import { csvField } from '../src/format/session-text.js';

describe('CSV fields', () => {
  it('a value a spreadsheet would run as a formula is prefixed with a quote mark', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-2')).toBe("'-2");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\tx')).toBe("'\tx");
    expect(csvField('\rx')).toBe(`"'\rx"`);
  });

  it('numbers stay numbers (a negative number is data, not a formula); null is empty; RFC 4180 quoting', () => {
    expect(csvField(-5)).toBe('-5');
    expect(csvField(null)).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('[fd90::2]:443')).toBe('[fd90::2]:443');
  });
});
