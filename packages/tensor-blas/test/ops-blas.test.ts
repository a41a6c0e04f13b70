import { CpuBackend } from '@joule/tensor';
import { runOpSuite } from '../../tensor/test/suite/ops.suite.js';
import { blasBackend, blasMatmul, nativeSilu } from '../src/index.js';

// The op suite, unchanged, with every matrix product (minInner 0) on the BLAS and SiLU on the AVX2
// kernels: values and the finite-difference gradient checks, first and second order, of every op.
runOpSuite(
  'cpu with OpenBLAS products and AVX2 SiLU',
  () => new CpuBackend({ matmul: blasMatmul({ minInner: 0 }), silu: nativeSilu() }),
);
// blasBackend as users get it, with 2 threads for the WebAssembly kernels: products with k < 4 are
// declined by the BLAS and run on the (threaded) built-in kernel.
runOpSuite('blasBackend with 2 threads', () => blasBackend({ cpu: { threads: 2 } }));
