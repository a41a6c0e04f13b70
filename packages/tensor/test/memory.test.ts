import { describe, expect, it } from 'vitest';
import {
  dispose,
  grad,
  JouleError,
  keep,
  memory,
  memoryGrowth,
  type Tensor,
  tensor,
  tidy,
  valueAndGrad,
  vjp,
  zeros,
} from '../src/index.js';

describe('memory', () => {
  it('tidy disposes intermediates: back to the baseline plus the result', () => {
    const x = tensor([1, 2, 3]);
    const before = memory();
    const y = tidy(() => x.mul(2).add(1).exp().sum());
    expect(memory()).toEqual({ tensors: before.tensors + 1, storages: before.storages + 1 });
    y.dispose();
    expect(memory()).toEqual(before);
    // nested tidy returning a tree
    const tree = tidy(() => {
      const inner = tidy(() => ({ a: x.square(), b: [x.neg()] }));
      x.sin();
      return inner;
    });
    expect(memory().tensors).toBe(before.tensors + 2);
    dispose(tree);
    expect(memory()).toEqual(before);
    x.dispose();
  });

  it('a plain number used as an operand leaves no tensor behind, also when differentiated again', () => {
    const x = tensor([1, 2]);
    const before = memory();
    const y = x.add(1).pow(3).maximum(2);
    expect(memory()).toEqual({ tensors: before.tensors + 3, storages: before.storages + 3 });
    dispose(y);
    // the scalar 3 is disposed right away but its storage stays with the record until the second derivative is done
    const d2 = grad((t: Tensor) => grad((s: Tensor) => s.pow(3).sum())(t).sum())(x);
    expect(Array.from(d2.dataSync())).toEqual([6, 12]);
    d2.dispose();
    x.dispose();
  });

  it('keep() exempts a tensor from tidy; dispose(tree) frees a tree', () => {
    const before = memory();
    let kept: Tensor | undefined;
    const out = tidy(() => {
      kept = keep(tensor([1, 2]).mul(3));
      return { s: tensor([4]), nested: [zeros([2])] };
    });
    expect(Array.from(kept!.dataSync())).toEqual([3, 6]);
    expect(memory().tensors).toBe(before.tensors + 3);
    dispose(out);
    kept!.dispose();
    expect(memory()).toEqual(before);
  });

  it('tidy releases what it made when fn throws, and refuses async functions', () => {
    const before = memory();
    expect(() =>
      tidy(() => {
        tensor([1, 2]).exp();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(memory()).toEqual(before);
    expect(() => tidy((() => Promise.resolve(1)) as unknown as () => Tensor)).toThrow(JouleError);
  });

  it('grad, valueAndGrad, nested grad and vjp leave no live storage except their results', () => {
    const x = tensor([0.5, -1, 2]);
    const w = tensor([1, 2, 3]);
    const f = (t: Tensor) => t.mul(w).tanh().square().sum();
    const before = memory();
    const g = grad(f)(x);
    expect(memory()).toEqual({ tensors: before.tensors + 1, storages: before.storages + 1 });
    g.dispose();
    const vg = valueAndGrad(f)(x);
    expect(memory()).toEqual({ tensors: before.tensors + 2, storages: before.storages + 2 });
    dispose(vg);
    const hvp = grad((t: Tensor) => grad(f)(t).mul(w).sum())(x);
    expect(memory()).toEqual({ tensors: before.tensors + 1, storages: before.storages + 1 });
    hvp.dispose();
    // f made inside tidy, vjp products and release: only r.out's tidy result stays
    const rows = tidy(() => {
      const r = vjp(f, x);
      const a = r.vjp(tensor(1));
      const b = r.vjp(tensor(2));
      r.release();
      return [a, b];
    });
    expect(memory()).toEqual({ tensors: before.tensors + 2, storages: before.storages + 2 });
    dispose(rows);
    expect(memory()).toEqual(before);
  });

  it('a disposed tensor cannot be used, even while a view still shares its storage', async () => {
    const x = tensor([1, 2, 3]);
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(() => x.exp()).toThrow(JouleError);
    expect(() => x.dataSync()).toThrow(/disposed/);
    expect(() => x.data()).toThrow(JouleError);
    x.dispose(); // idempotent
    const y = tensor([1, 2]);
    const view = y.reshape([2, 1]);
    y.dispose();
    expect(() => y.add(1)).toThrow(/argument 'a' expected a live tensor/);
    expect(() => grad((t: Tensor) => t.sum())(y)).toThrow(JouleError);
    expect(Array.from(await view.data())).toEqual([1, 2]);
    view.dispose();
  });

  it('a tidy inside a gradient may dispose what the backward pass needs later', () => {
    const g = grad((t: Tensor) =>
      tidy(() =>
        t
          .exp()
          .mul(tensor([2]))
          .sum(),
      ),
    )(tensor([0, 1]));
    expect(Array.from(g.dataSync()).map((v) => +v.toFixed(5))).toEqual([2, +(2 * Math.E).toFixed(5)]);
  });
});

describe('memoryGrowth', () => {
  it('is zero for code that frees what it makes and counts what a leaky call keeps', async () => {
    const x = tensor([1, 2, 3]);
    expect(await memoryGrowth(() => tidy(() => x.exp().sum()).dispose())).toEqual({ tensors: 0, storages: 0 });
    const leaked: Tensor[] = [];
    const growth = await memoryGrowth(async () => leaked.push(x.mul(2)), { warmup: 1, repeats: 4 });
    expect(growth).toEqual({ tensors: 4, storages: 4 });
    for (const t of leaked) t.dispose();
    x.dispose();
  });
});
