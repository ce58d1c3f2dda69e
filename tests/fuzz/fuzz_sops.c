/* fuzz_sops.c: libFuzzer target for files SOPS encrypted (compiler/sops.h).
 *
 * The input is read as a YAML file, a dotenv file and a binary one, each
 * decrypted with an age key of the seed's (tests/fuzz/corpus/sops): the
 * metadata, the armored age file and its header, the values and the MAC
 * are all the fuzzer's to change. Any input must be refused or read
 * without a crash, a leak or undefined behaviour. */
#include <stdint.h>
#include <string.h>

#include "eval.h"
#include "plumb/yaml.h"
#include "sops.h"

static const char key[] = "AGE-SECRET-KEY-1SWP75TFY9P7VUP9V9X0JS2KD64DEXS8AKJY0FXKP7H9480UM2EJSZM78FL\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  arena *a = arena_new();
  diag_list d;
  diag_init(&d, a);
  eval *ev = eval_new(a, &d, loader_new_memory(a, NULL));
  compile_sops_key k = {COMPILE_SOPS_AGE, "fuzz", key, strlen(key)};
  compile_opts o = {.sops_keys = &k, .nsops_keys = 1};
  eval_set_opts(ev, &o);
  const char *text = arena_strndup(a, (const char *)data, size);
  value *docs;
  if (yaml_read(a, &d, "f.yaml", text, size, &docs) == 0) sops_docs(ev, "f.yaml", text, size, docs);
  size_t n;
  if (sops_text_encrypted(ev, "f.env", text, size)) sops_text(ev, "f.env", text, size, &n);
  if (sops_text_encrypted(ev, "f.bin", text, size)) sops_text(ev, "f.bin", text, size, &n);
  sops_end(ev);
  eval_forget_syntax(ev);
  arena_free(a);
  return 0;
}
