import { historyLetter } from './conn-state.js';

/** History codes: event * 2 + (0 originator | 1 responder), 9 events. */
const CODES = 18;
/** Trie nodes kept; past this, histories are built each time (only hostile input gets there). */
const MAX_NODES = 1 << 16;

/**
 * History letters as strings, each distinct history built once: a trie over the codes a flow
 * recorded, whose nodes hold the text. Sessions share a handful of histories (`ShADadFf`,
 * `S`, `Dd`...), so a finished flow's history costs a walk of a few array reads, not a string.
 */
export class HistoryText {
  private children = new Int32Array(CODES * 64);
  private readonly text: string[] = [''];

  /** The text of `length` codes at `codes[at..]`. */
  of(codes: Uint8Array, at: number, length: number): string {
    let node = 0;
    for (let i = 0; i < length; i++) {
      const code = codes[at + i]!;
      let next = this.children[node * CODES + code]!;
      if (next === 0) {
        if (this.text.length >= MAX_NODES) return build(codes, at, length);
        next = this.text.length;
        this.text.push(this.text[node]! + historyLetter(code >> 1, (code & 1) === 0));
        if ((next + 1) * CODES > this.children.length) {
          const grown = new Int32Array(this.children.length * 2);
          grown.set(this.children);
          this.children = grown;
        }
        this.children[node * CODES + code] = next;
      }
      node = next;
    }
    return this.text[node]!;
  }
}

function build(codes: Uint8Array, at: number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += historyLetter(codes[at + i]! >> 1, (codes[at + i]! & 1) === 0);
  return s;
}
