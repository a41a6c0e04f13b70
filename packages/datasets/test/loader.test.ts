import { Rng, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { miniBatches, permutation, randomBatch } from '../src/index.js';

const N = 10;
const data = tensor(Array.from({ length: N }, (_, i) => [i, 10 * i]));
const context = tensor(Array.from({ length: N }, (_, i) => [-i]));

describe('mini-batches', () => {
  it('permutation is a permutation and reproducible', () => {
    const p = permutation(100, new Rng(1));
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(permutation(100, new Rng(1)))).toEqual(Array.from(p));
    expect(Array.from(permutation(100, new Rng(2)))).not.toEqual(Array.from(p));
  });

  it('permutation puts each element first with probability 1/n (5 SE)', () => {
    const trials = 4000;
    const n = 4;
    const rng = new Rng(3);
    const first = new Array<number>(n).fill(0);
    for (let t = 0; t < trials; t++) first[permutation(n, rng)[0]!]!++;
    for (const c of first)
      expect(Math.abs(c / trials - 1 / n)).toBeLessThan(5 * Math.sqrt(((1 / n) * (1 - 1 / n)) / trials));
  });

  it('one epoch visits every row once, keeps the context aligned, and is seeded', () => {
    const seen: number[] = [];
    const sizes: number[] = [];
    for (const b of miniBatches(data, new Rng(0), { batchSize: 4, context })) {
      const x = b.x.toArray() as number[][];
      const c = b.context!.toArray() as number[][];
      x.forEach((row, i) => {
        expect(row[1]).toBe(10 * row[0]!);
        expect(c[i]![0]).toBe(-row[0]!);
        expect(b.indices[i]).toBe(row[0]);
        seen.push(row[0]!);
      });
      sizes.push(x.length);
    }
    expect(sizes).toEqual([4, 4, 2]);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    const again = [...miniBatches(data, new Rng(0), { batchSize: 4 })].flatMap((b) => Array.from(b.indices));
    expect(again).toEqual(seen);
    expect([...miniBatches(data, new Rng(0), { batchSize: 4, dropLast: true })].length).toBe(2);
  });

  it('randomBatch draws with replacement, with the context alongside', () => {
    const b = randomBatch(data, new Rng(5), { batchSize: 32, context });
    expect(b.x.shape).toEqual([32, 2]);
    expect(b.context!.shape).toEqual([32, 1]);
    const x = b.x.dataSync();
    const c = b.context!.dataSync();
    for (let i = 0; i < 32; i++) expect(c[i]).toBe(-x[2 * i]!);
    expect(new Set(b.indices).size).toBeLessThan(32); // 32 draws from 10 rows must repeat
  });

  it('validates its inputs', () => {
    expect(() => [...miniBatches(data, new Rng(0), { batchSize: 0 })]).toThrow(/batchSize/);
    expect(() => [...miniBatches(data, new Rng(0), { batchSize: 2, context: tensor([[1]]) })]).toThrow(/10 rows/);
    expect(() => randomBatch(data, new Rng(0), { batchSize: 1.5 })).toThrow(/positive integer/);
  });
});
