import { runOpSuite } from '../../tensor/test/suite/ops.suite.js';
import { GpuBackend } from '../src/index.js';

// The op suite with its own per-op tolerances (TOLERANCES in ops.suite.ts), unchanged.
const backend = await GpuBackend.create({ mode: 'cpu' });
runOpSuite(backend.name, () => backend);
