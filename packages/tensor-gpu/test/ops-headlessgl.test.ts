import { runOpSuite } from '../../tensor/test/suite/ops.suite.js';
import { GpuBackend } from '../src/index.js';

// GLSL through Mesa's software rasterizer, with the suite's own per-op tolerances (TOLERANCES in
// ops.suite.ts), unchanged. Fails (never skips) where headlessgl cannot start, so that the GPU code
// path runs on every CI run: `pnpm test` wraps vitest in `xvfb-run -a`.
const backend = await GpuBackend.create({ mode: 'headlessgl' });
runOpSuite(backend.name, () => backend);
