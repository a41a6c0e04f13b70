import { CpuBackend } from '../src/index.js';
import { runOpSuite } from './suite/ops.suite.js';

runOpSuite('cpu', () => new CpuBackend());
// every tensor an ordinary array, copied in for each WebAssembly kernel
runOpSuite('cpu (memoryBytes 0)', () => new CpuBackend({ memoryBytes: 0 }));
// a few tensors in the WebAssembly memory and the rest ordinary arrays, mixed within one op
runOpSuite('cpu (memoryBytes 64 KiB)', () => new CpuBackend({ memoryBytes: 64 * 1024 }));
