{
  "targets": [
    {
      "target_name": "joule_blas",
      "sources": ["native/blas.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "conditions": [["OS=='linux'", { "libraries": ["-ldl"] }]]
    }
  ]
}
