import { CpuBackend } from '../src/index.js';
import { runOpSuite } from './suite/ops.suite.js';

runOpSuite('cpu', () => new CpuBackend());
