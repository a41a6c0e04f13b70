/**
 * Recycles the output arrays of the CPU kernels: a freed array of the backend's own goes back to a
 * pool keyed by length, and the next kernel output of that length reuses it. Large typed arrays are
 * expensive to allocate (zero-filling, first-touch page faults, garbage-collector work), and a training
 * step allocates the same shapes every time. Arrays the backend did not allocate (those handed to
 * `upload`) are never recycled.
 * @internal
 */
export class ArrayPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<Float32Array>();
  private pooledFloats = 0;

  /**
   * @param minLength Shorter arrays are cheap to allocate and are not pooled.
   * @param maxFloats Upper bound on the floats held by the pool (beyond it freed arrays are dropped).
   * @param perLength At most this many arrays of one length are held.
   */
  constructor(
    readonly minLength = 1024,
    readonly maxFloats = 64 * 1024 * 1024,
    readonly perLength = 32,
  ) {}

  /** An array of `length` floats whose contents are arbitrary: the caller writes every element. */
  take(length: number): Float32Array {
    if (length < this.minLength) return new Float32Array(length);
    const list = this.free.get(length);
    const reused = list?.pop();
    if (reused) {
      this.pooledFloats -= length;
      return reused;
    }
    const fresh = new Float32Array(length);
    this.owned.add(fresh);
    return fresh;
  }

  /** Gives back an array that no tensor uses any more. */
  give(a: Float32Array): void {
    if (!this.owned.has(a) || this.pooledFloats + a.length > this.maxFloats) return;
    let list = this.free.get(a.length);
    if (!list) {
      list = [];
      this.free.set(a.length, list);
    }
    if (list.length >= this.perLength) return;
    list.push(a);
    this.pooledFloats += a.length;
  }

  /** Drops every pooled array. */
  clear(): void {
    this.free.clear();
    this.pooledFloats = 0;
  }
}
