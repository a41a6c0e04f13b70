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

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
      {"open", NULL, open_library, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, library_info, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_thread_count, NULL, NULL, NULL, napi_default, NULL},
      {"sgemm", NULL, matmul, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods) != napi_ok) return NULL;
  return exports;
}
