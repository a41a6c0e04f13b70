import { CpuBackend } from '@joule/tensor';
import { runOpSuite } from '../../tensor/test/suite/ops.suite.js';
import { blasMatmul } from '../src/index.js';

// The op suite, unchanged, with every matrix product (minInner 0) on the BLAS: values and the
// finite-difference gradient checks of matmul, its batched and transposed forms and the ops built on it.
runOpSuite('cpu with OpenBLAS products', () => new CpuBackend({ matmul: blasMatmul({ minInner: 0 }) }));
