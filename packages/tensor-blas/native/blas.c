/*
 * @joule/tensor-blas: the one native call joule needs from a BLAS, cblas_sgemm, on Float32Arrays
 * (also views of a shared WebAssembly memory). The library is opened at run time (dlopen /
 * LoadLibrary), so the addon builds without BLAS headers and works with any CBLAS: OpenBLAS, BLIS,
 * Accelerate, MKL's runtime, or the reference BLAS.
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#define OPEN_LIBRARY(path) ((void *)LoadLibraryA(path))
#define FIND_SYMBOL(lib, name) ((void *)GetProcAddress((HMODULE)(lib), name))
#else
#include <dlfcn.h>
#define OPEN_LIBRARY(path) dlopen(path, RTLD_NOW | RTLD_LOCAL)
#define FIND_SYMBOL(lib, name) dlsym(lib, name)
#endif

/* CBLAS's enumerations, fixed by the standard. */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *,
                         int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_config_fn)(void);

/* One library per process: BLAS libraries keep global state (their thread pools). */
static void *library = NULL;
static char library_path[4096];
static sgemm_fn sgemm = NULL;
static set_threads_fn set_threads = NULL;
static get_threads_fn get_threads = NULL;
static get_config_fn get_config = NULL;

#define CHECK(call)                                                                                                    \
  do {                                                                                                                 \
    if ((call) != napi_ok) {                                                                                           \
      napi_throw_error(env, NULL, "tensor-blas: a Node-API call failed");                                             \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

static napi_value string_value(napi_env env, const char *text) {
  napi_value out;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out) != napi_ok) return NULL;
  return out;
}

/*
 * open(path): null when the library is open with cblas_sgemm, else the reason as a string. Opening the
 * library already open (from another worker thread, say) succeeds; opening a second one fails.
 */
static napi_value open_library(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  size_t length = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "tensor-blas: open(path) takes a string");
    return NULL;
  }
  if (library != NULL) {
    if (strcmp(path, library_path) != 0) return string_value(env, "another BLAS library is already open in this process");
    napi_value none;
    CHECK(napi_get_null(env, &none));
    return none;
  }
  if (length >= sizeof library_path - 1) return string_value(env, "the path is too long");
  void *opened = OPEN_LIBRARY(path);
  if (opened == NULL) {
#ifdef _WIN32
    return string_value(env, "LoadLibrary failed");
#else
    const char *reason = dlerror();
    return string_value(env, reason != NULL ? reason : "dlopen failed");
#endif
  }
  sgemm_fn found = (sgemm_fn)FIND_SYMBOL(opened, "cblas_sgemm");
  if (found == NULL) return string_value(env, "the library has no cblas_sgemm");
  library = opened;
  memcpy(library_path, path, length + 1);
  sgemm = found;
  set_threads = (set_threads_fn)FIND_SYMBOL(opened, "openblas_set_num_threads");
  get_threads = (get_threads_fn)FIND_SYMBOL(opened, "openblas_get_num_threads");
  get_config = (get_config_fn)FIND_SYMBOL(opened, "openblas_get_config");
  napi_value none;
  CHECK(napi_get_null(env, &none));
  return none;
}

/* info(): { config, threads } of the open library; fields the library cannot tell are null. */
static napi_value library_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, config, threads;
  CHECK(napi_create_object(env, &out));
  if (get_config != NULL) {
    config = string_value(env, get_config());
    if (config == NULL) return NULL;
  } else {
    CHECK(napi_get_null(env, &config));
  }
  if (get_threads != NULL) {
    CHECK(napi_create_int32(env, get_threads(), &threads));
  } else {
    CHECK(napi_get_null(env, &threads));
  }
  CHECK(napi_set_named_property(env, out, "config", config));
  CHECK(napi_set_named_property(env, out, "threads", threads));
  return out;
}

/* setThreads(n): true when the library took it (OpenBLAS), false when it has no such setting. */
static napi_value set_thread_count(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t count = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &count) != napi_ok || count < 1) {
    napi_throw_range_error(env, NULL, "tensor-blas: setThreads(n) takes an integer n >= 1");
    return NULL;
  }
  if (set_threads != NULL) set_threads(count);
  CHECK(napi_get_boolean(env, set_threads != NULL, &out));
  return out;
}

/* Reads a Float32Array's data and length; false after throwing. A length-0 array may have no data. */
static bool float_array(napi_env env, napi_value value, float **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  void *start = NULL;
  napi_value buffer;
  size_t offset = 0;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, &start, &buffer, &offset) != napi_ok ||
      type != napi_float32_array) {
    napi_throw_type_error(env, NULL, "tensor-blas: sgemm takes Float32Arrays");
    return false;
  }
  *data = (float *)start;
  return true;
}

/*
 * sgemm(a, aOffset, b, bOffset, c, cOffset, m, k, n, transA, transB): c[cOffset…] = op(A)·op(B),
 * [m, n] row-major. Every extent is checked against its array before the library is called.
 */
static napi_value matmul(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 11) {
    napi_throw_type_error(env, NULL, "tensor-blas: sgemm takes 11 arguments");
    return NULL;
  }
  if (sgemm == NULL) {
    napi_throw_error(env, NULL, "tensor-blas: no BLAS library is open");
    return NULL;
  }
  size_t a_length = 0, b_length = 0, c_length = 0;
  float *a = NULL, *b = NULL, *c = NULL;
  if (!float_array(env, argv[0], &a, &a_length) || !float_array(env, argv[2], &b, &b_length) ||
      !float_array(env, argv[4], &c, &c_length))
    return NULL;
  int64_t a_offset = 0, b_offset = 0, c_offset = 0, m = 0, k = 0, n = 0;
  bool trans_a = false, trans_b = false;
  if (napi_get_value_int64(env, argv[1], &a_offset) != napi_ok ||
      napi_get_value_int64(env, argv[3], &b_offset) != napi_ok ||
      napi_get_value_int64(env, argv[5], &c_offset) != napi_ok || napi_get_value_int64(env, argv[6], &m) != napi_ok ||
      napi_get_value_int64(env, argv[7], &k) != napi_ok || napi_get_value_int64(env, argv[8], &n) != napi_ok ||
      napi_get_value_bool(env, argv[9], &trans_a) != napi_ok ||
      napi_get_value_bool(env, argv[10], &trans_b) != napi_ok) {
    napi_throw_type_error(env, NULL, "tensor-blas: sgemm takes integer offsets and sizes and boolean transposes");
    return NULL;
  }
  if (a_offset < 0 || b_offset < 0 || c_offset < 0 || m < 0 || k < 0 || n < 0 || m > INT32_MAX || k > INT32_MAX ||
      n > INT32_MAX || a_offset + m * k > (int64_t)a_length || b_offset + k * n > (int64_t)b_length ||
      c_offset + m * n > (int64_t)c_length) {
    napi_throw_range_error(env, NULL, "tensor-blas: sgemm's offsets and sizes run past its arrays");
    return NULL;
  }
  if (m == 0 || n == 0) return NULL;
  if (k == 0) {
    /* an empty sum; a BLAS would reject the leading dimension 0 */
    memset(c + c_offset, 0, (size_t)(m * n) * sizeof(float));
    return NULL;
  }
  sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, (int)m, (int)n, (int)k, 1.0f, a + a_offset,
        (int)(trans_a ? m : k), b + b_offset, (int)(trans_b ? k : n), 0.0f, c + c_offset, (int)n);
  return NULL;
}


/*
 * SiLU kernels on AVX2 + FMA (x86-64 with GCC or Clang, chosen at run time): the algorithm of
 * @joule/tensor's WebAssembly kernels on 8 lanes. m = σ(−|x|) is saved by the forward pass; σ(x) and
 * 1 − σ(x) follow from it without cancellation. e^a for a ≤ 0 is Cephes' expf: 2^n · e^r with
 * r = a − n ln 2 and a degree-7 polynomial, about 1 ulp; below −88.38 it underflows to 0, NaN stays.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SILU_AVX2 1
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __m256 exp_nonpositive(__m256 a) {
  /* max(−88.38, a) with a as the second operand: a NaN in a stays */
  __m256 t = _mm256_max_ps(_mm256_set1_ps(-88.37626f), a);
  __m256 n = _mm256_fmadd_ps(t, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(12582912.0f));
  __m256 nf = _mm256_sub_ps(n, _mm256_set1_ps(12582912.0f));
  __m256 r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(0.693359375f), t);
  r = _mm256_fnmadd_ps(nf, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.98756915e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  __m256 e = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  /* 2^n in the exponent field: the low bits of n hold the rounded integer */
  __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_castps_si256(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(e, _mm256_castsi256_ps(scale));
}

/* y = silu(x), m = σ(−|x|) for 8 lanes */
AVX2 static inline void silu_saved8(__m256 x, __m256 *y, __m256 *m) {
  __m256 t = exp_nonpositive(_mm256_or_ps(x, _mm256_set1_ps(-0.0f)));
  __m256 r = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), t));
  *m = _mm256_mul_ps(t, r);
  *y = _mm256_mul_ps(x, _mm256_blendv_ps(r, *m, x)); /* m where x's sign bit is set, else r */
}

/* s = σ(x) and q = 1 − σ(x) from m = σ(−|x|) */
AVX2 static inline void sigmoid_pair8(__m256 x, __m256 m, __m256 *s, __m256 *q) {
  __m256 other = _mm256_sub_ps(_mm256_set1_ps(1.0f), m);
  *s = _mm256_blendv_ps(other, m, x);
  *q = _mm256_blendv_ps(m, other, x);
}

/* Loads lanes [i, i + count) of p (count ≤ 8), zeros after. */
AVX2 static inline __m256 load_part(const float *p, size_t count) {
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  memcpy(lanes, p, count * sizeof(float));
  return _mm256_loadu_ps(lanes);
}

AVX2 static inline void store_part(float *p, __m256 v, size_t count) {
  float lanes[8];
  _mm256_storeu_ps(lanes, v);
  memcpy(p, lanes, count * sizeof(float));
}

AVX2 static void silu_saved_avx2(const float *x, float *y, float *m, size_t size) {
  size_t i = 0;
  __m256 vy, vm;
  for (; i + 8 <= size; i += 8) {
    silu_saved8(_mm256_loadu_ps(x + i), &vy, &vm);
    _mm256_storeu_ps(y + i, vy);
    _mm256_storeu_ps(m + i, vm);
  }
  if (i < size) {
    silu_saved8(load_part(x + i, size - i), &vy, &vm);
    store_part(y + i, vy, size - i);
    store_part(m + i, vm, size - i);
  }
}

/* out = g σ (1 + x q) */
AVX2 static inline __m256 silu_grad8(__m256 x, __m256 m, __m256 g) {
  __m256 s, q;
  sigmoid_pair8(x, m, &s, &q);
  return _mm256_mul_ps(_mm256_mul_ps(g, s), _mm256_fmadd_ps(x, q, _mm256_set1_ps(1.0f)));
}

AVX2 static void silu_grad_avx2(const float *x, const float *m, const float *g, float *out, size_t size) {
  size_t i = 0;
  for (; i + 8 <= size; i += 8)
    _mm256_storeu_ps(out + i, silu_grad8(_mm256_loadu_ps(x + i), _mm256_loadu_ps(m + i), _mm256_loadu_ps(g + i)));
  if (i < size) {
    size_t c = size - i;
    store_part(out + i, silu_grad8(load_part(x + i, c), load_part(m + i, c), load_part(g + i, c)), c);
  }
}

/* dx = h g σ q (2 + x (q − σ)), dg = h σ (1 + x q) */
AVX2 static inline void silu_grad_backward8(__m256 x, __m256 m, __m256 g, __m256 h, __m256 *dx, __m256 *dg) {
  __m256 s, q;
  sigmoid_pair8(x, m, &s, &q);
  __m256 hgsq = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(h, g), s), q);
  *dx = _mm256_mul_ps(hgsq, _mm256_fmadd_ps(x, _mm256_sub_ps(q, s), _mm256_set1_ps(2.0f)));
  *dg = _mm256_mul_ps(_mm256_mul_ps(h, s), _mm256_fmadd_ps(x, q, _mm256_set1_ps(1.0f)));
}

AVX2 static void silu_grad_backward_avx2(const float *x, const float *m, const float *g, const float *h, float *dx,
                                         float *dg, size_t size) {
  size_t i = 0;
  __m256 vdx, vdg;
  for (; i + 8 <= size; i += 8) {
    silu_grad_backward8(_mm256_loadu_ps(x + i), _mm256_loadu_ps(m + i), _mm256_loadu_ps(g + i), _mm256_loadu_ps(h + i),
                        &vdx, &vdg);
    _mm256_storeu_ps(dx + i, vdx);
    _mm256_storeu_ps(dg + i, vdg);
  }
  if (i < size) {
    size_t c = size - i;
    silu_grad_backward8(load_part(x + i, c), load_part(m + i, c), load_part(g + i, c), load_part(h + i, c), &vdx, &vdg);
    store_part(dx + i, vdx, c);
    store_part(dg + i, vdg, c);
  }
}

static bool silu_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
static bool silu_available(void) { return false; }
#endif

/* Reads argv[first …] as Float32Arrays of at least `size` elements each; false after throwing. */
static bool float_arrays(napi_env env, napi_value *argv, size_t count, float **out, size_t size) {
  for (size_t i = 0; i < count; i++) {
    size_t length = 0;
    if (!float_array(env, argv[i], &out[i], &length)) return false;
    if (length < size) {
      napi_throw_range_error(env, NULL, "tensor-blas: a SiLU kernel's size runs past its arrays");
      return false;
    }
  }
  return true;
}

/* Reads the size argument argv[index]; false after throwing. */
static bool size_argument(napi_env env, napi_value value, size_t *size) {
  int64_t n = 0;
  if (napi_get_value_int64(env, value, &n) != napi_ok || n < 0) {
    napi_throw_range_error(env, NULL, "tensor-blas: a SiLU kernel's size must be an integer >= 0");
    return false;
  }
  *size = (size_t)n;
  return true;
}

/* siluAvailable(): whether the SiLU kernels run here (x86-64 with AVX2 and FMA). */
static napi_value silu_supported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_get_boolean(env, silu_available(), &out));
  return out;
}

/* Calls a SiLU kernel after checking its `arrays` Float32Arrays and the size that follows them. */
#define SILU_CALL(arrays, call)                                                                                        \
  size_t argc = (arrays) + 1;                                                                                          \
  napi_value argv[(arrays) + 1];                                                                                       \
  float *p[arrays];                                                                                                    \
  size_t size = 0;                                                                                                     \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));                                                         \
  if (argc < (arrays) + 1) {                                                                                           \
    napi_throw_type_error(env, NULL, "tensor-blas: too few arguments for a SiLU kernel");                              \
    return NULL;                                                                                                       \
  }                                                                                                                    \
  if (!size_argument(env, argv[arrays], &size) || !float_arrays(env, argv, (arrays), p, size)) return NULL;            \
  if (!silu_available()) {                                                                                             \
    napi_throw_error(env, NULL, "tensor-blas: the SiLU kernels need x86-64 with AVX2 and FMA");                        \
    return NULL;                                                                                                       \
  }                                                                                                                    \
  call;                                                                                                                \
  return NULL;

/* siluSaved(x, y, m, size) */
static napi_value silu_saved(napi_env env, napi_callback_info info) {
#ifdef SILU_AVX2
  SILU_CALL(3, silu_saved_avx2(p[0], p[1], p[2], size))
#else
  SILU_CALL(3, (void)p)
#endif
}

/* siluGrad(x, m, g, out, size) */
static napi_value silu_grad(napi_env env, napi_callback_info info) {
#ifdef SILU_AVX2
  SILU_CALL(4, silu_grad_avx2(p[0], p[1], p[2], p[3], size))
#else
  SILU_CALL(4, (void)p)
#endif
}

/* siluGradBackward(x, m, g, h, dx, dg, size) */
static napi_value silu_grad_backward(napi_env env, napi_callback_info info) {
#ifdef SILU_AVX2
  SILU_CALL(6, silu_grad_backward_avx2(p[0], p[1], p[2], p[3], p[4], p[5], size))
#else
  SILU_CALL(6, (void)p)
#endif
}

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
      {"open", NULL, open_library, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, library_info, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_thread_count, NULL, NULL, NULL, napi_default, NULL},
      {"sgemm", NULL, matmul, NULL, NULL, NULL, napi_default, NULL},
      {"siluAvailable", NULL, silu_supported, NULL, NULL, NULL, napi_default, NULL},
      {"siluSaved", NULL, silu_saved, NULL, NULL, NULL, napi_default, NULL},
      {"siluGrad", NULL, silu_grad, NULL, NULL, NULL, napi_default, NULL},
      {"siluGradBackward", NULL, silu_grad_backward, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods) != napi_ok) return NULL;
  return exports;
}
