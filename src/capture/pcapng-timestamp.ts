/**
 * pcapng timestamps are a 64-bit count of units since 1970, split into two 32-bit halves; the
 * unit is set per interface by if_tsresol (pcapng spec, section 4.2): a power of ten (MSB clear)
 * or a power of two (MSB set), 10^-6 when absent. Nanosecond counts exceed 2^53, so whole
 * seconds and the remainder are found by exact long division rather than float arithmetic.
 */
export class TimestampUnit {
  /** Units per second when decimal (10^n), or 0 when binary. */
  readonly decimalDivisor: number;
  /** n of 2^-n when binary. */
  readonly binaryShift: number;

  constructor(tsresol: number) {
    if (tsresol & 0x80) {
      this.decimalDivisor = 0;
      this.binaryShift = tsresol & 0x7f;
    } else {
      this.decimalDivisor = 10 ** tsresol;
      this.binaryShift = 0;
    }
  }

  static readonly MICROSECONDS = new TimestampUnit(6);
}

/** Result registers of `splitTimestamp`, reused so that the conversion allocates nothing. */
export const tsOut = { sec: 0, nsec: 0 };

const TWO32 = 4294967296;
const TWO21 = 2097152;

export function splitTimestamp(hi: number, lo: number, unit: TimestampUnit): void {
  const d = unit.decimalDivisor;
  if (d === 0) {
    splitBinary(hi, lo, unit.binaryShift);
    return;
  }
  let sec: number;
  let rem: number;
  if (hi < TWO21) {
    const v = hi * TWO32 + lo; // < 2^53: exact
    sec = Math.floor(v / d);
    rem = v - sec * d;
    if (rem < 0) {
      sec -= 1;
      rem += d;
    } else if (rem >= d) {
      sec += 1;
      rem -= d;
    }
  } else if (d <= 2 ** 36) {
    // Long division in 16-bit limbs: every intermediate stays below 2^53.
    let cur = hi >>> 16;
    let q = Math.floor(cur / d);
    let r = cur - q * d;
    cur = r * 65536 + (hi & 0xffff);
    let qi = Math.floor(cur / d);
    r = cur - qi * d;
    q = q * 65536 + qi;
    cur = r * 65536 + (lo >>> 16);
    qi = Math.floor(cur / d);
    r = cur - qi * d;
    q = q * 65536 + qi;
    cur = r * 65536 + (lo & 0xffff);
    qi = Math.floor(cur / d);
    r = cur - qi * d;
    q = q * 65536 + qi;
    sec = q;
    rem = r;
  } else {
    // Resolutions finer than 2^-36 s: rarer than rare; float precision is the best on offer.
    const v = hi * TWO32 + lo;
    sec = Math.floor(v / d);
    rem = Math.max(0, v - sec * d);
  }
  tsOut.sec = sec;
  tsOut.nsec = d <= 1e9 ? rem * (1e9 / d) : Math.floor(rem / (d / 1e9));
}

function splitBinary(hi: number, lo: number, shift: number): void {
  const scale = 2 ** shift;
  if (shift <= 32) {
    const loSec = Math.floor(lo / scale);
    const frac = lo - loSec * scale;
    tsOut.sec = hi * (TWO32 / scale) + loSec;
    tsOut.nsec = Math.floor((frac * 1e9) / scale);
  } else {
    const v = hi * TWO32 + lo;
    const sec = Math.floor(v / scale);
    tsOut.sec = sec;
    tsOut.nsec = Math.min(999999999, Math.floor(((v - sec * scale) * 1e9) / scale));
  }
}
