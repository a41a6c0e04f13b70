import { afterEach, describe, expect, it } from 'vitest';
import { JouleError, setDebug, tensor } from '../src/index.js';

describe('debug switch', () => {
  afterEach(() => setDebug(false));

  it('setDebug(true) names the op that produced a non-finite value; off again afterwards', () => {
    setDebug(true);
    let caught: unknown;
    try {
      tensor([0]).log();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(JouleError);
    expect((caught as JouleError).op).toBe('log');
    expect((caught as JouleError).message).toMatch(/^log: .*finite inputs/);
    // the op that only passes a NaN along is told apart from the one that made it
    expect(() => tensor([Number.NaN]).add(1)).toThrow(/already non-finite/);
    // finite results pass
    expect(Array.from(tensor([1]).log().dataSync())).toEqual([0]);
    setDebug(false);
    expect(Array.from(tensor([0]).log().dataSync())).toEqual([-Infinity]);
  });
});
