/* sops.h: files SOPS encrypted, decrypted as the build reads them.
 *
 * A file that sops (getsops/sops) encrypted keeps its keys in clear and
 * each value as ENC[AES256_GCM,data:...,iv:...,tag:...,type:...], under
 * one data key that its `sops` metadata keeps wrapped for each recipient
 * (an age X25519 key, an OpenPGP key, a cloud KMS), with a MAC over every
 * value. The build decrypts such a file where it reads one (resources,
 * yaml_resources(), yaml_dir(), a kustomization's resources and
 * generators, a chart's values files) with the keys of its options
 * (compile_opts.sops_keys), checks the MAC, and goes on with the
 * plaintext, all or nothing: a file that no key opens, or whose MAC or
 * any value does not check, is an error at its file:line:col, and nothing
 * of it is used. Decrypted values are marked (value.secret), so that
 * plumb explain and messages name their file instead of showing them. */
#ifndef PLUMB_SOPS_H
#define PLUMB_SOPS_H

#include <stdint.h>

#include "builtin.h"

/* How sops stores a file, which it chooses by the file's name. */
typedef enum { SOPS_YAML, SOPS_JSON, SOPS_DOTENV, SOPS_BINARY } sops_format;

/* .yaml and .yml are YAML, .json JSON, .env dotenv, any other binary. */
sops_format sops_format_of(const char *name);

/* docs, as a reader gave the documents of the YAML or JSON file `name`
 * (text, len), when they are not sops': the first document has no `sops`
 * mapping holding a `mac`. Else the documents decrypted, read again as
 * sops reads them (go-yaml v3's scalars, or JSON), without `sops`; NULL
 * after reporting. */
value *sops_docs(eval *ev, const char *name, const char *text, size_t len, value *docs);

/* Whether text, the file `name`, is one sops encrypted: as dotenv (it has
 * a sops_mac line), as binary (a JSON object with `data` and a `sops`
 * mapping holding a `mac`), as YAML or JSON (its documents are). */
bool sops_text_encrypted(eval *ev, const char *name, const char *text, size_t len);
/* The plaintext of such a file, as `sops -d` writes it: the KEY=VALUE
 * lines of a dotenv file, the bytes of a binary one; in ev's arena, *out
 * its length. NULL after reporting. A YAML or JSON file has documents,
 * not one text: an error. */
const char *sops_text(eval *ev, const char *name, const char *text, size_t len, size_t *out);

/* The 32 bytes of an age identity, "AGE-SECRET-KEY-1" and its Bech32
 * (BIP 173) data, upper case, as age-keygen writes one (n bytes at s).
 * False when it is none. */
bool sops_age_identity(const char *s, size_t n, uint8_t key[32]);
/* The recipient ("age1...") of that identity, into out. */
enum { SOPS_AGE_RECIPIENT = 63 }; /* "age1", 52 characters of data, 6 of checksum, NUL */
void sops_age_recipient(const uint8_t key[32], char out[SOPS_AGE_RECIPIENT]);

/* Ends what the compile's decryption left: the keys read wiped, the
 * GnuPG home made for its OpenPGP keys gone with its agent. */
void sops_end(eval *ev);

#endif
