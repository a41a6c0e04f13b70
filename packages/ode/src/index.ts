/**
 * ODE and SDE integrators on tensors (fixed-step Euler, midpoint, Heun, RK4; adaptive
 * Dormand–Prince 5(4); Euler–Maruyama), differentiable through the tensor autodiff, and
 * log-densities along flows by the instantaneous change of variables with exact or Hutchinson
 * divergences.
 *
 * @packageDocumentation
 */
export { type DivergenceOptions, type DivergenceResult, divergence, hutchinsonProbes } from './divergence.js';
export { type Dopri5Options, type Dopri5Solution, solveDopri5 } from './dopri5.js';
export {
  eulerStep,
  type FixedMethod,
  type FixedMethodSpec,
  type FixedStepOptions,
  fixedMethods,
  heunStep,
  midpointStep,
  type OdeSolution,
  rk4Step,
  type Stepper,
  solveFixed,
} from './fixed.js';
export {
  type BatchVectorField,
  integrateWithLogDet,
  type LogDetOptions,
  type LogDetSolution,
  type OdeLogProbOptions,
  odeLogProb,
  odeSampleAndLogProb,
  type SamplesWithLogProb,
} from './logdensity.js';
export { type Diffusion, eulerMaruyamaStep, type SdeOptions, type SdeSolution, solveSde } from './sde.js';
export { type AdaptiveSolveOptions, type SolveOptions, solveOde } from './solve.js';
export type { OdeState, VectorField } from './state.js';
