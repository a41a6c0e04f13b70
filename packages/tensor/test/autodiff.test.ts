import { describe, expect, it } from 'vitest';
import {
  broadcastTo,
  concat,
  grad,
  indexSelect,
  JouleError,
  memory,
  noGrad,
  pad,
  Rng,
  randn,
  reshape,
  slice,
  split,
  stack,
  stopGradient,
  sum,
  type Tensor,
  tensor,
  tidy,
  transpose,
  valueAndGrad,
  vjp,
  where,
} from '../src/index.js';

const values = (t: Tensor) => Array.from(t.dataSync());

function expectClose(got: Tensor | number[], want: number[], tol = 1e-5) {
  const g = Array.isArray(got) ? got : values(got);
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => {
    expect(Math.abs(v - want[i]), `at ${i}: ${v} vs ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i])));
  });
}

describe('grad / valueAndGrad', () => {
  it('differentiates a parameter tree {w, b} with an extra non-differentiated argument', () => {
    // loss = Σ (x w + b − y)², gradients in closed form: 2 Xᵀ r and 2 Σ r
    const x = tensor([
      [1, 2],
      [3, -1],
      [0.5, 0],
    ]);
    const y = tensor([[1], [0], [2]]);
    const w = tensor([[0.3], [-0.2]]);
    const b = tensor([0.1]);
    const loss = (p: { w: Tensor; b: Tensor }, xs: Tensor, ys: Tensor) =>
      xs.matmul(p.w).add(p.b).sub(ys).square().sum();
    const { value, grad: g } = valueAndGrad(loss)({ w, b }, x, y);
    const r = [1 * 0.3 + 2 * -0.2 + 0.1 - 1, 3 * 0.3 + -1 * -0.2 + 0.1 - 0, 0.5 * 0.3 + 0.1 - 2];
    expectClose(value, [r.reduce((s, v) => s + v * v, 0)]);
    expectClose(g.w, [2 * (r[0] * 1 + r[1] * 3 + r[2] * 0.5), 2 * (r[0] * 2 + r[1] * -1)]);
    expectClose(g.b, [2 * (r[0] + r[1] + r[2])]);
    expect(g.w.shape).toEqual([2, 1]);
  });

  it('differentiates arrays of tensors and keeps non-tensor leaves of the tree', () => {
    const f = (p: { xs: Tensor[]; scale: number }) => p.xs[0].mul(p.xs[1]).mul(p.scale).sum();
    const g = grad(f)({ xs: [tensor([1, 2]), tensor([3, 4])], scale: 2 });
    expectClose(g.xs[0], [6, 8]);
    expectClose(g.xs[1], [2, 4]);
    expect(g.scale).toBe(2);
  });

  it('a function constant in x has a zero gradient of x’s shape', () => {
    const g = grad((_x: Tensor, c: Tensor) => c.sum())(tensor([[1, 2, 3]]), tensor([5]));
    expect(g.shape).toEqual([1, 3]);
    expect(values(g)).toEqual([0, 0, 0]);
  });

  it('stopGradient cuts the gradient; the same input used twice accumulates', () => {
    const x = tensor([2, -1]);
    expectClose(grad((t: Tensor) => t.mul(stopGradient(t)).sum())(x), [2, -1]);
    expectClose(grad((t: Tensor) => t.mul(t).sum())(x), [4, -2]);
  });

  it('rejects functions that do not return one element and non-tensor inputs', () => {
    expect(() => grad((t: Tensor) => t.mul(2))(tensor([1, 2]))).toThrow(JouleError);
    expect(() => grad((t: Tensor) => t.sum())('x' as unknown as Tensor)).toThrow(/valueAndGrad/);
  });

  it('third-order derivative of x⁴ is 24x; nested grads of sin cycle', () => {
    const d1 = grad((x: Tensor) => x.pow(4).sum());
    const d2 = grad((x: Tensor) => d1(x).sum());
    const d3 = grad((x: Tensor) => d2(x).sum());
    expectClose(d3(tensor([0.5, -2])), [12, -48], 1e-4);
    const s1 = grad((x: Tensor) => x.sin().sum());
    const s2 = grad((x: Tensor) => s1(x).sum());
    const s3 = grad((x: Tensor) => s2(x).sum());
    expectClose(s3(tensor([0.3, 1.2])), [-Math.cos(0.3), -Math.cos(1.2)]);
  });

  it('grad of a loss that itself contains a gradient (score-matching style)', () => {
    // E(x) = Σ x³ / 3, ∇E = x², loss = Σ (∇E)² = Σ x⁴, d loss/dx = 4 x³
    const energyGrad = grad((x: Tensor) => x.pow(3).div(3).sum());
    const g = grad((x: Tensor) => energyGrad(x).square().sum())(tensor([1.5, -0.5]));
    expectClose(g, [4 * 1.5 ** 3, 4 * (-0.5) ** 3]);
  });
});

describe('vjp', () => {
  it('several cotangents from one forward pass give the Jacobian rows; release() frees everything', () => {
    const before = memory();
    const x = tensor([1, 2, 3]);
    const scale = tensor([1, 10, 100]);
    const r = vjp((t: Tensor) => t.mul(t).mul(scale), x);
    expectClose(r.out, [1, 40, 900]);
    for (let i = 0; i < 3; i++) {
      const e = tensor([0, 0, 0].map((_, j) => (j === i ? 1 : 0)));
      const row = r.vjp(e);
      const want = [0, 0, 0];
      want[i] = [2, 40, 600][i];
      expectClose(row, want);
      row.dispose();
      e.dispose();
    }
    r.release();
    const v = tensor([1, 1, 1]);
    expect(() => r.vjp(v)).toThrow(JouleError);
    v.dispose();
    // f made t·t and the result; the result is r.out, t·t is left to the caller like any op outside tidy
    r.out.dispose();
    x.dispose();
    scale.dispose();
    expect(memory()).toEqual({ tensors: before.tensors + 1, storages: before.storages + 1 });
  });

  it('checks the cotangent shape', () => {
    const r = vjp((t: Tensor) => t.exp(), tensor([1, 2]));
    expect(() => r.vjp(tensor([1, 2, 3]))).toThrow(/argument 'v'/);
    r.release();
  });
});

describe('noGrad', () => {
  it('records nothing inside an open gradient scope: no storages are held after the call beyond the result', () => {
    const x = tensor([1, 2, 3]);
    const r = vjp((t: Tensor) => {
      const before = memory();
      const y = noGrad(() => tidy(() => t.exp().mul(2).sin().sum()));
      const after = memory();
      // only y is new: the intermediates were disposed and no gradient record holds their storage
      expect(after.tensors - before.tensors).toBe(1);
      expect(after.storages - before.storages).toBe(1);
      // the same computation while recording keeps the intermediates’ storages for the backward pass
      const z = tidy(() => t.exp().mul(2).sin().sum());
      expect(memory().storages - after.storages).toBeGreaterThan(1);
      return z.add(y);
    }, x);
    // y is a constant: the gradient is that of Σ sin(2 eˣ) alone
    const g = r.vjp(tensor(1));
    expectClose(
      g,
      [1, 2, 3].map((v) => Math.cos(2 * Math.exp(v)) * 2 * Math.exp(v)),
      1e-4,
    );
    r.release();
  });

  it('gradients taken inside noGrad still work', () => {
    const g = noGrad(() => grad((t: Tensor) => t.square().sum())(tensor([3])));
    expectClose(g, [6]);
  });
});

describe('gradients through structural ops', () => {
  const rng = new Rng(5);
  const x = randn([4, 3], rng);
  const c = randn([4, 3], rng);
  const xv = values(x);
  const cv = values(c);

  it('indexSelect with repeated indices accumulates', () => {
    const g = grad((t: Tensor) => indexSelect(t, [2, 0, 2, 2]).sum())(x);
    const want = [1, 0, 3, 0].flatMap((k) => [k, k, k]);
    expectClose(g, want);
  });

  it('where routes the gradient to the chosen branch only', () => {
    const mask = x.gt(0);
    const g = grad((t: Tensor) => where(mask, t.square(), t.mul(3)).sum())(x);
    expectClose(
      g,
      xv.map((v) => (v > 0 ? 2 * v : 3)),
    );
  });

  it('concat / split / stack round trips give back the cotangent', () => {
    const f = (t: Tensor) => {
      const [a, b] = split(t, [1, 3], 0);
      return stack([concat([b, a], 0), t], 0)
        .mul(stack([c, c], 0))
        .sum();
    };
    const g = grad(f)(x);
    // d/dt of Σ c·t is c; the permuted copy contributes c rolled back by one row
    const rolled = [...cv.slice(9), ...cv.slice(0, 9)];
    expectClose(
      g,
      cv.map((v, i) => v + rolled[i]),
    );
  });

  it('slice / pad, reshape / transpose / broadcastTo', () => {
    const g1 = grad((t: Tensor) =>
      pad(slice(t, [1, 1], [2, 2]), [
        [1, 1],
        [0, 3],
      ]).sum(),
    )(x);
    expectClose(g1, [0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0]);
    const g2 = grad((t: Tensor) =>
      transpose(reshape(t, [2, 6]))
        .mul(reshape(transpose(reshape(c, [2, 6])), [6, 2]))
        .sum(),
    )(x);
    expectClose(g2, cv);
    const row = tensor([1, 2, 3]);
    const g3 = grad((t: Tensor) => broadcastTo(t, [4, 3]).mul(c).sum())(row);
    expectClose(
      g3,
      [0, 1, 2].map((j) => cv[j] + cv[3 + j] + cv[6 + j] + cv[9 + j]),
    );
    expect(sum(g3).size).toBe(1);
  });
});
