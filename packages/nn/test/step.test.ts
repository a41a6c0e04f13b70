import { flattenTree, JouleError, memory, Rng, randn, type TreeLike, valueAndGrad } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { Adam, descend, MLP, type ParamTree, snapshot } from '../src/index.js';

/** Every value of a tree, in leaf order. */
const values = (tree: TreeLike): number[] => flattenTree(tree).leaves.flatMap((t) => Array.from(t.dataSync()));

function setup() {
  const rng = new Rng(3);
  const model = new MLP(2, 1, { rng, width: 8, depth: 2, activation: 'silu' });
  const x = randn([16, 2], rng);
  const lossAndGrad = () => valueAndGrad((p: ParamTree) => model.apply(p, x).square().mean())(model.parameters());
  return { model, x, lossAndGrad, adam: new Adam(model.parameters(), { lr: 1e-2 }) };
}

describe('descend', () => {
  it('returns the loss, moves the parameters and leaves the live-tensor count flat', async () => {
    const { model, lossAndGrad, adam } = setup();
    const first = await descend('test', 'loss', model, adam, lossAndGrad);
    await descend('test', 'loss', model, adam, lossAndGrad);
    const before = memory();
    let last = first;
    for (let i = 0; i < 5; i++) last = await descend('test', 'loss', model, adam, lossAndGrad);
    expect(memory().tensors).toBe(before.tensors);
    expect(memory().storages).toBe(before.storages);
    expect(last).toBeLessThan(first); // Adam on a quadratic loss of a small MLP descends
  });

  it("never disposes the caller's own initial parameters", async () => {
    const { model, lossAndGrad, adam } = setup();
    const initial = flattenTree(model.parameters()).leaves;
    await descend('test', 'loss', model, adam, lossAndGrad);
    await descend('test', 'loss', model, adam, lossAndGrad);
    for (const t of initial) expect(t.isDisposed).toBe(false);
  });

  it('throws a JouleError naming the quantity and changes nothing when the loss is not finite', async () => {
    const { model, x, adam } = setup();
    const before = snapshot(model.parameters());
    const bad = () =>
      valueAndGrad((p: ParamTree) => model.apply(p, x).mean().mul(Number.POSITIVE_INFINITY))(model.parameters());
    await expect(descend('Est.step', 'loss', model, adam, bad)).rejects.toThrow(JouleError);
    await expect(descend('Est.step', 'loss', model, adam, bad)).rejects.toThrow(/loss/);
    expect(values(model.parameters())).toEqual(values(before));
  });
});

describe('snapshot', () => {
  it('survives the disposal of the originals', async () => {
    const { model, lossAndGrad, adam } = setup();
    await descend('test', 'loss', model, adam, lossAndGrad);
    const saved = snapshot(model.parameters());
    const savedValues = values(saved);
    const originals = flattenTree(model.parameters()).leaves;
    await descend('test', 'loss', model, adam, lossAndGrad); // disposes the parameters saved above
    for (const t of originals) expect(t.isDisposed).toBe(true);
    expect(values(saved)).toEqual(savedValues);
  });
});
