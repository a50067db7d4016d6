// Fuzz and property tests of the sd_notify parser/formatter (src/protocol/sd-notify.ts): whatever a child sends —
// random bytes, malformed lines, oversized or NUL-laden datagrams, invalid UTF-8, absurd numbers — parseNotify never
// throws, and it either rejects the datagram with a reason or returns a message whose every field is sane.
// Seeded (TEND_FUZZ_SEED=n to replay, TEND_FUZZ_CASES=n for more cases); a failure prints the seed and the input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatNotify, isRejection, NOTIFY_MAX_BYTES, parseNotify, type NotifyMessage } from '../../../src/protocol/sd-notify.js';
import { mulberry32 } from '../../helpers/prng.js';

const SEED = Number(process.env['TEND_FUZZ_SEED'] ?? 0x5d1f0) >>> 0;
const CASES = Number(process.env['TEND_FUZZ_CASES'] ?? 4000);

class Gen {
  readonly next: () => number;
  constructor(seed: number) { this.next = mulberry32(seed); }
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick<T>(items: readonly T[]): T { return items[this.int(0, items.length - 1)]!; }
  chance(p: number): boolean { return this.next() < p; }
  bytes(n: number): Uint8Array { return Uint8Array.from({ length: n }, () => this.int(0, 255)); }
}

const KNOWN_KEYS = ['READY', 'RELOADING', 'STOPPING', 'WATCHDOG', 'STATUS', 'ERRNO', 'EXTEND_TIMEOUT_USEC', 'MAINPID',
  'WATCHDOG_USEC', 'MONOTONIC_USEC', 'BARRIER', 'TEND_LISTENING', 'FDSTORE', 'FDNAME', 'BUSERROR', 'X_CUSTOM'];
const NUMBERS = ['0', '1', '42', '-1', '+5', ' 5', '5 ', '1.5', '1e3', '0x10', '007', '9007199254740991', '9007199254740993',
  '9999999999999999', '99999999999999999', '18446744073709551615', '1'.repeat(400), 'NaN', 'Infinity', '٣', ''];
const NASTY = ['\0', '\r', '\t', '=', '==', ' ', '\u00e9', '\u{1f600}', '\u202e', '\ufeff', '\\n', '%s', '${x}'];
// Byte sequences a strict UTF-8 decoder must refuse: overlong, surrogate, out of range, truncated, stray continuation.
const INVALID_UTF8: readonly (readonly number[])[] = [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff],
  [0xe2, 0x82], [0x80], [0xc3, 0x28], [0xf8, 0x88, 0x80, 0x80, 0x80]];

const enc = new TextEncoder();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A mostly well-formed line, with a mutation now and then. */
function line(g: Gen): string {
  const key = g.chance(0.85) ? g.pick(KNOWN_KEYS) : g.pick(['', '1KEY', 'KEY WITH SPACE', 'k-e-y', 'ÄKEY', '_', 'a'.repeat(g.int(1, 300))]);
  const value = g.chance(0.5) ? g.pick(NUMBERS) : g.pick(['1', 'trigger', 'hello world', 'tcp:0.0.0.0:3000', ...NASTY]) + (g.chance(0.2) ? 'x'.repeat(g.int(0, 2000)) : '');
  const sep = g.chance(0.95) ? '=' : g.pick(['', ':', ' = ']);
  return `${key}${sep}${value}`;
}

function datagram(g: Gen): { data: Uint8Array; truncated: boolean } {
  const kind = g.int(0, 7);
  const truncated = g.chance(0.02);
  switch (kind) {
    case 0: // random bytes, any length around the limit
      return { data: g.bytes(g.pick([0, 1, 2, g.int(3, 64), g.int(64, NOTIFY_MAX_BYTES), NOTIFY_MAX_BYTES, NOTIFY_MAX_BYTES + 1, g.int(4097, 9000)])), truncated };
    case 1: // random printable ASCII with newlines and '='
      return { data: enc.encode(Array.from({ length: g.int(0, 600) }, () => g.pick(['\n', '=', 'A', 'Z', '_', '1', ' ', 'a', '\r'])).join('')), truncated };
    case 2: // valid-looking messages, joined by \n (sometimes \r\n or blank lines)
    case 3:
      return { data: enc.encode(Array.from({ length: g.int(1, 12) }, () => line(g)).join(g.pick(['\n', '\n', '\r\n', '\n\n']))), truncated };
    case 4: { // a valid message with a NUL somewhere
      const text = enc.encode(Array.from({ length: g.int(1, 5) }, () => line(g)).join('\n'));
      const at = g.int(0, text.length);
      return { data: concat([text.subarray(0, at), Uint8Array.of(0), text.subarray(at)]), truncated };
    }
    case 5: { // a valid message with an invalid UTF-8 sequence spliced in
      const text = enc.encode(`READY=1\nSTATUS=${'s'.repeat(g.int(0, 50))}`);
      const at = g.int(0, text.length);
      return { data: concat([text.subarray(0, at), Uint8Array.from(g.pick(INVALID_UTF8)), text.subarray(at)]), truncated };
    }
    case 6: { // oversized: a valid message padded past the limit
      const status = 'x'.repeat(g.int(NOTIFY_MAX_BYTES - 20, NOTIFY_MAX_BYTES * 3));
      return { data: enc.encode(`READY=1\nSTATUS=${status}`), truncated };
    }
    default: { // huge and odd numbers for every numeric key
      const keys = ['EXTEND_TIMEOUT_USEC', 'MAINPID', 'WATCHDOG_USEC', 'MONOTONIC_USEC', 'ERRNO'];
      return { data: enc.encode(keys.map((k) => `${k}=${g.pick(NUMBERS)}`).join('\n')), truncated };
    }
  }
}

const VALID_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const strictUtf8 = (data: Uint8Array): boolean => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
};

/** Everything a parsed message must satisfy, checked against the raw input. */
function checkMessage(m: NotifyMessage, data: Uint8Array): void {
  assert.ok(data.length > 0 && data.length <= NOTIFY_MAX_BYTES, 'accepted a datagram outside 1..4096 bytes');
  assert.ok(!data.includes(0), 'accepted a NUL byte');
  assert.ok(strictUtf8(data), 'accepted invalid UTF-8');
  assert.ok(m.fields.length > 0, 'accepted a datagram without assignments');
  for (const [k, v] of m.fields) {
    assert.match(k, VALID_KEY);
    assert.ok(!v.includes('\n'), 'a value contains a newline');
  }
  const last = (key: string): string | undefined => m.fields.findLast(([k]) => k === key)?.[1];
  assert.equal(m.ready, last('READY') === '1');
  assert.equal(m.reloading, last('RELOADING') === '1');
  assert.equal(m.stopping, last('STOPPING') === '1');
  assert.equal(m.barrier, last('BARRIER') === '1');
  assert.equal(m.status, last('STATUS') ?? null);
  assert.equal(m.listening, last('TEND_LISTENING') ?? null);
  const wd = last('WATCHDOG');
  assert.equal(m.watchdog, wd === '1' ? 'ping' : wd === 'trigger' ? 'trigger' : null);
  const numeric: [number | null, string][] = [[m.errno, 'ERRNO'], [m.extendTimeoutUsec, 'EXTEND_TIMEOUT_USEC'], [m.mainPid, 'MAINPID'],
    [m.watchdogUsec, 'WATCHDOG_USEC'], [m.monotonicUsec, 'MONOTONIC_USEC']];
  for (const [value, key] of numeric) {
    const text = last(key);
    if (value === null) {
      // Only a missing key, or a value that is not an unsigned decimal a double holds exactly, is dropped.
      assert.ok(text === undefined || !/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text)), `${key}=${text} was dropped`);
    } else {
      // Exact: a value past 2^53 (where a double rounds) is dropped rather than rounded.
      assert.ok(text !== undefined && /^\d{1,16}$/.test(text), `${key}=${text} parsed as a number`);
      assert.ok(Number.isSafeInteger(value) && value === Number(text), `${key}=${text} parsed as ${value}`);
    }
  }
}

describe('sd_notify parser fuzz', () => {
  it(`${CASES} seeded random and malformed datagrams never throw and are rejected or parsed sanely (seed ${SEED})`, { timeout: 60_000 }, () => {
    const g = new Gen(SEED);
    const tally = { accepted: 0, rejected: 0 };
    const reasons = new Map<string, number>();
    const t0 = performance.now();
    for (let i = 0; i < CASES; i++) {
      const { data, truncated } = datagram(g);
      let result: ReturnType<typeof parseNotify>;
      try {
        result = parseNotify(data, truncated);
      } catch (error) {
        assert.fail(`case ${i} (seed ${SEED}) threw ${String(error)} on ${JSON.stringify(Buffer.from(data).toString('latin1').slice(0, 200))}`);
      }
      try {
        if (isRejection(result)) {
          tally.rejected++;
          assert.equal(typeof result.rejected, 'string');
          assert.ok(result.rejected.length > 0 && result.rejected.length < 200, 'a rejection reason is short and non-empty');
          const kind = result.rejected.replace(/".*"/, '"…"');
          reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
        } else {
          assert.ok(!truncated, 'accepted a truncated datagram');
          tally.accepted++;
          checkMessage(result, data);
        }
      } catch (error) {
        throw new Error(`case ${i} (seed ${SEED}, TEND_FUZZ_SEED=${SEED} to replay): ${error instanceof Error ? error.message : String(error)}\n` +
          `input: ${JSON.stringify(Buffer.from(data).toString('latin1').slice(0, 300))}`, { cause: error });
      }
    }
    const ms = performance.now() - t0;
    // Both outcomes are exercised in quantity, so the invariants above were really checked.
    assert.ok(tally.accepted > CASES / 10, `only ${tally.accepted} accepted`);
    assert.ok(tally.rejected > CASES / 10, `only ${tally.rejected} rejected`);
    for (const reason of ['empty datagram', 'datagram contains a NUL byte', 'datagram is not valid UTF-8', `datagram longer than ${NOTIFY_MAX_BYTES} bytes`]) {
      assert.ok((reasons.get(reason) ?? 0) > 0, `no case was rejected as "${reason}"`);
    }
    // Linear-time parsing: no input makes it slow (no catastrophic backtracking).
    assert.ok(ms < 20_000, `${CASES} cases took ${Math.round(ms)} ms`);
  });

  it('rejects exactly what systemd drops: empty, > 4096 bytes, truncated, NUL, invalid UTF-8, a line that is not KEY=VALUE', () => {
    const r = (s: string | Uint8Array, truncated = false): string | null => {
      const out = parseNotify(typeof s === 'string' ? enc.encode(s) : s, truncated);
      return isRejection(out) ? out.rejected : null;
    };
    assert.match(r('') ?? '', /empty/);
    assert.match(r('\n\n') ?? '', /no assignments/);
    assert.match(r(`STATUS=${'x'.repeat(NOTIFY_MAX_BYTES)}`) ?? '', /longer than 4096/);
    assert.equal(r(`STATUS=${'x'.repeat(NOTIFY_MAX_BYTES - 7)}`), null, 'exactly 4096 bytes is fine');
    assert.match(r('READY=1', true) ?? '', /longer than/);
    assert.match(r('READY=1\0') ?? '', /NUL/);
    assert.match(r(Uint8Array.of(0x52, 0x3d, 0xc3, 0x28)) ?? '', /UTF-8/);
    assert.match(r('READY') ?? '', /not KEY=VALUE/);
    assert.match(r('=1') ?? '', /not KEY=VALUE/);
    assert.match(r('MY KEY=1') ?? '', /not a valid name/);
    assert.equal(r('READY=1\n'), null);
  });

  it('numbers: only plain unsigned decimals of up to 16 digits count; the last assignment wins', () => {
    const p = (s: string): NotifyMessage => {
      const out = parseNotify(enc.encode(s));
      assert.ok(!isRejection(out), s);
      return out;
    };
    assert.equal(p('EXTEND_TIMEOUT_USEC=5000000').extendTimeoutUsec, 5_000_000);
    for (const bad of ['-1', '+1', '1.5', '1e6', '0x10', ' 1', '1 ', '', '12345678901234567', '٣']) {
      assert.equal(p(`EXTEND_TIMEOUT_USEC=${bad}`).extendTimeoutUsec, null, bad);
    }
    assert.equal(p('MAINPID=1\nMAINPID=2').mainPid, 2);
    assert.equal(p('READY=1\nREADY=0').ready, false);
    assert.equal(p('WATCHDOG=trigger').watchdog, 'trigger');
    assert.equal(p('WATCHDOG=2').watchdog, null);
    assert.deepEqual(p('X_UNKNOWN=a=b\r').fields, [['X_UNKNOWN', 'a=b\r']]);
  });

  it('a number above 2^53 is rejected rather than silently rounded', () => {
    const out = parseNotify(enc.encode('EXTEND_TIMEOUT_USEC=9999999999999999'));
    assert.ok(!isRejection(out));
    assert.equal(out.extendTimeoutUsec, null);
  });

  it('formatNotify round-trips through parseNotify for random valid fields, and refuses newlines in values', () => {
    const g = new Gen(SEED ^ 0xabcdef);
    for (let i = 0; i < 1000; i++) {
      const fields: Record<string, string> = {};
      for (let n = g.int(1, 6); n > 0; n--) {
        const key = g.pick(KNOWN_KEYS);
        fields[key] = Array.from({ length: g.int(0, 40) }, () => g.pick(['a', '1', ' ', '=', 'é', '\u{1f600}', '\r', '\t'])).join('');
      }
      const out = parseNotify(formatNotify(fields));
      assert.ok(!isRejection(out), JSON.stringify(fields));
      assert.deepEqual(Object.fromEntries(out.fields), fields);
    }
    assert.throws(() => formatNotify({ STATUS: 'two\nlines' }), TypeError);
  });
});
