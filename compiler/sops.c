/* sops.c: files SOPS encrypted, decrypted as the build reads them (sops.h).
 *
 * What is read here follows sops' own reading of its files (getsops/sops:
 * aes/cipher.go, sops.go, stores/, age/ and pgp/keysource.go):
 * - A YAML file is read as go-yaml v3 reads it, which is what sops wrote
 *   it from: `yes` is a string, not true. A JSON file as JSON; a dotenv
 *   file as KEY=VALUE lines, its metadata flattened into sops_ keys; a
 *   binary file is a JSON object whose `data` holds the whole plaintext.
 * - Which values are encrypted is the metadata's rule: unencrypted_suffix
 *   (by default "_unencrypted"), encrypted_suffix, unencrypted_regex or
 *   encrypted_regex, tried on each key of a value's path; at most one.
 *   The comment rules are not read (libyaml gives no comments) and a file
 *   with one is refused rather than read otherwise than sops reads it.
 * - A value is AES-256-GCM under the data key, with its path ("a:b:", the
 *   keys down to it) as additional data, so a value moved to another key
 *   does not decrypt. Its type (str, int, float, bool) is its kind.
 * - The MAC is SHA-512 over every value's text in order (only the
 *   encrypted ones with mac_only_encrypted), nulls left out, as Go prints
 *   them (True, False, 1.5), encrypted with the data key and the
 *   lastmodified time as additional data.
 * - The data key is wrapped for each recipient of the metadata (or of its
 *   one key group: Shamir's sharing over several groups is not read): an
 *   armored age file (age's X25519 recipients, C2SP age v1) or an armored
 *   OpenPGP message. age entries are tried before PGP ones, as sops does.
 *
 * The input is anyone's with push access: every count and size is
 * bounded, the work charged to the compile's budget, and no message holds
 * a decrypted byte or a key (paths and recipients are clear text in the
 * file). Plaintext is built apart and used only once the MAC checked;
 * what a failure leaves of it, the data key and the keys read are wiped.
 *
 * The cryptography is Nettle's, which the compiler links already
 * (sha256.h says why not OpenSSL): X25519, HKDF-SHA256, HMAC-SHA256,
 * ChaCha20-Poly1305, AES-256-GCM, SHA-512, compared in constant time.
 * OpenPGP is GnuPG's, through GPGME, in a home of the compile's own into
 * which the given keys are imported; it and its agent go at the end. */
#include "sops.h"

#include <errno.h>
#include <gpgme.h>
#include <limits.h>
#include <math.h>
#include <nettle/chacha-poly1305.h>
#include <nettle/curve25519.h>
#include <nettle/gcm.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "plumb/tool.h"
#include "plumb/yaml.h"
#include "regex.h"

enum {
  DATA_KEY = 32,          /* AES-256's key, what every wrapping holds */
  FILE_KEY = 16,          /* age's file key */
  TAG = 16,               /* of GCM and Poly1305 */
  MAX_RECIPIENTS = 64,    /* master keys of one file: sops writes a handful */
  MAX_WRAPPED = 64 << 10, /* an armored age file or PGP message holding a data key */
  MAX_STANZAS = 16,       /* recipient stanzas of one age header */
  MAX_TRIES = 4096,       /* X25519 products one file may cost: stanzas times identities */
  MAX_IV = 256,           /* sops writes 32 bytes */
};

/* The keys of one compile, read on first use. */
typedef struct sops_ring {
  bool read, bad; /* bad: a key could not be read, which was said */
  uint8_t (*age)[32]; /* heap: wiped at the end */
  size_t nage;
  const compile_sops_key **pgp;
  size_t npgp;
  const char *home; /* GnuPG's, once made */
  gpgme_ctx_t gpg;
  bool gpg_failed;
} sops_ring;

/* What one file's metadata says. */
typedef enum { UNENCRYPTED_SUFFIX, ENCRYPTED_SUFFIX, UNENCRYPTED_REGEX, ENCRYPTED_REGEX } rule_kind;

typedef struct {
  const char *type; /* "age", "pgp", "kms", ... */
  const char *id;   /* its recipient, fingerprint, ARN: for messages */
  const value *enc; /* the wrapped data key, a string */
} master;

typedef struct {
  eval *ev;
  const char *name;
  pos at; /* the `sops` key's mapping */
  const value *mac;
  char lastmodified[40];
  rule_kind rule;
  const char *rule_text;
  pcre2_code *re;
  pcre2_match_data *md;
  bool mac_only_encrypted;
  master keys[MAX_RECIPIENTS];
  size_t nkeys;
  /* The walk over the values. */
  uint8_t data_key[DATA_KEY];
  struct sha512_ctx hash;
  buf path;         /* "a:b:" */
  value **plain;    /* strings holding plaintext, wiped on failure */
  size_t nplain;
  bool failed;
} file;

static void wipe(void *p, size_t n) {
  if (p && n) explicit_bzero(p, n);
}

__attribute__((format(printf, 3, 4))) static bool fail(file *f, pos at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = arena_vprintf(eval_arena(f->ev), fmt, ap);
  va_end(ap);
  if (!f->failed) eval_fail(f->ev, at, "%s", msg);
  f->failed = true;
  return false;
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

sops_format sops_format_of(const char *name) {
  size_t n = strlen(name);
  if (ends_with(name, n, ".yaml") || ends_with(name, n, ".yml")) return SOPS_YAML;
  if (ends_with(name, n, ".json")) return SOPS_JSON;
  return ends_with(name, n, ".env") ? SOPS_DOTENV : SOPS_BINARY;
}

/* ---- Bech32, for age's keys ------------------------------------------- */

static const char bech32_chars[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t bech32_step(uint32_t chk, unsigned v) {
  static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t top = chk >> 25;
  chk = (chk & 0x1ffffff) << 5 ^ v;
  for (int i = 0; i < 5; i++)
    if (top >> i & 1) chk ^= gen[i];
  return chk;
}

/* The checksum state after the human-readable part, expanded as BIP 173
 * says: each character's high bits, a zero, each one's low bits. */
static uint32_t bech32_hrp(const char *hrp) {
  uint32_t chk = 1;
  for (const char *p = hrp; *p; p++) chk = bech32_step(chk, (unsigned char)*p >> 5);
  chk = bech32_step(chk, 0);
  for (const char *p = hrp; *p; p++) chk = bech32_step(chk, (unsigned char)*p & 31);
  return chk;
}

/* The want bytes of s[0..n), "HRP1DATA" in one case (age's keys are longer
 * than BIP 173's 90 characters, which age allows), whose human-readable
 * part, lower-cased, is hrp. */
static bool bech32_decode(const char *s, size_t n, const char *hrp, uint8_t *out, size_t want) {
  size_t h = strlen(hrp);
  bool upper = n && s[0] >= 'A' && s[0] <= 'Z';
  if (n < h + 7 || s[h] != '1') return false;
  for (size_t i = 0; i < h; i++)
    if ((upper && s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]) != hrp[i]) return false;
  uint32_t chk = bech32_hrp(hrp), acc = 0;
  size_t bits = 0, got = 0, data = n - h - 1 - 6;
  for (size_t i = h + 1; i < n; i++) {
    char c = s[i];
    if (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z')) return false; /* mixed case */
    const char *p = strchr(bech32_chars, upper && c >= 'A' && c <= 'Z' ? c + 32 : c);
    if (!c || !p) return false;
    unsigned v = (unsigned)(p - bech32_chars);
    chk = bech32_step(chk, v);
    if (i - h - 1 >= data) continue; /* the checksum's six */
    acc = acc << 5 | v, bits += 5;
    if (bits >= 8) {
      if (got == want) return false;
      out[got++] = (uint8_t)(acc >> (bits - 8));
      bits -= 8;
    }
  }
  /* What is left must be padding: fewer than 5 bits, all zero. */
  return chk == 1 && got == want && bits < 5 && !(acc & ((1u << bits) - 1));
}

static void bech32_encode(const char *hrp, const uint8_t *data, size_t n, char *out) {
  size_t h = strlen(hrp), len = h + 1;
  memcpy(out, hrp, h);
  out[h] = '1';
  uint32_t chk = bech32_hrp(hrp), acc = 0;
  size_t bits = 0;
  for (size_t i = 0; i < n || bits; ) {
    if (bits < 5 && i < n) acc = acc << 8 | data[i++], bits += 8;
    unsigned v = bits >= 5 ? acc >> (bits - 5) & 31 : acc << (5 - bits) & 31;
    bits = bits >= 5 ? bits - 5 : 0;
    chk = bech32_step(chk, v);
    out[len++] = bech32_chars[v];
  }
  for (int i = 0; i < 6; i++) chk = bech32_step(chk, 0);
  chk ^= 1;
  for (int i = 0; i < 6; i++) out[len++] = bech32_chars[chk >> (5 * (5 - i)) & 31];
  out[len] = '\0';
}

bool sops_age_identity(const char *s, size_t n, uint8_t key[32]) {
  return n && s[0] == 'A' && bech32_decode(s, n, "age-secret-key-", key, 32);
}

void sops_age_recipient(const uint8_t key[32], char out[SOPS_AGE_RECIPIENT]) {
  uint8_t pub[CURVE25519_SIZE];
  curve25519_mul_g(pub, key);
  bech32_encode("age", pub, sizeof pub, out);
}

/* ---- the keys --------------------------------------------------------- */

static sops_ring *ring_of(eval *ev) {
  sops_ring **slot = eval_sops_ring(ev);
  if (!*slot) *slot = arena_alloc(eval_arena(ev), sizeof **slot);
  return *slot;
}

/* Room for one more age key: a new block, the old one wiped (realloc
 * would leave a copy behind). */
static void grow_keys(sops_ring *r) {
  uint8_t(*more)[32] = heap_alloc((r->nage + 1) * sizeof *more);
  if (r->nage) memcpy(more, r->age, r->nage * sizeof *more);
  wipe(r->age, r->nage * sizeof *r->age);
  free(r->age);
  r->age = more;
}

/* The identities of an age key file: one a line (several, space-separated,
 * as SOPS_AGE_KEY may hold them), '#' lines and blank ones skipped. A line
 * that is none is an error naming the line, never its text. */
static bool read_age_key(eval *ev, sops_ring *r, const compile_sops_key *k) {
  const char *s = k->data, *end = k->data + k->len;
  for (int line = 1; s < end; line++) {
    const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl : end;
    while (s < e && *s != '#') {
      while (s < e && strchr(" \t\r", *s)) s++;
      const char *w = s;
      while (s < e && !strchr(" \t\r", *s)) s++;
      if (s == w) break;
      grow_keys(r);
      if (!sops_age_identity(w, (size_t)(s - w), r->age[r->nage])) {
        wipe(r->age[r->nage], sizeof *r->age); /* what a bad line decoded of itself */
        eval_fail(ev, (pos){0}, "sops: %s, line %d, is not an age identity (AGE-SECRET-KEY-1...)%s", k->from, line,
                  s - w > 11 && !memcmp(w, "AGE-PLUGIN-", 11) ? "; age plugins are not supported" : "");
        return false;
      }
      r->nage++;
    }
    s = nl ? nl + 1 : end;
  }
  return true;
}

static sops_ring *keys_of(eval *ev) {
  sops_ring *r = ring_of(ev);
  const compile_opts *o = eval_opts(ev);
  if (r->read) return r->bad ? NULL : r;
  r->read = true;
  for (size_t i = 0; o && i < o->nsops_keys; i++) {
    const compile_sops_key *k = &o->sops_keys[i];
    if (k->kind == COMPILE_SOPS_AGE && !read_age_key(ev, r, k)) {
      r->bad = true;
      return NULL;
    }
    if (k->kind == COMPILE_SOPS_PGP) {
      r->pgp = arena_room_for_one(eval_arena(ev), r->pgp, r->npgp, sizeof *r->pgp);
      r->pgp[r->npgp++] = k;
    }
  }
  return r;
}

/* ---- base64 and the primitives ---------------------------------------- */

/* Standard base64 of s[0..n), padded unless `raw` (age's), into out (at
 * most max bytes); its length, or -1 when it is not that or too long. */
static long unbase64(const char *s, size_t n, bool raw, uint8_t *out, size_t max) {
  if ((raw && n % 4 == 1) || n > INT32_MAX || n / 4 > max / 3 + 1) return -1;
  buf text = {0}, b = {0};
  buf_put(&text, s, n);
  for (size_t i = 0; raw && n % 4 && i < 4 - n % 4; i++) buf_putc(&text, '=');
  if (raw && memchr(s, '=', n)) text.len = 0, buf_putc(&text, '!');
  size_t bad;
  bool ok = builtin_base64_decode(&b, text.data, text.len, &bad) && b.len <= max;
  long got = ok ? (long)b.len : -1;
  if (ok) memcpy(out, b.data, b.len);
  wipe(b.data, b.len);
  buf_free(&b);
  buf_free(&text);
  return got;
}

static void hkdf_sha256(const uint8_t *salt, size_t nsalt, const uint8_t *ikm, size_t nikm, const char *info,
                        uint8_t *out, size_t nout) {
  struct hmac_sha256_ctx h;
  uint8_t prk[SHA256_DIGEST_SIZE];
  hmac_sha256_set_key(&h, nsalt, nsalt ? salt : (const uint8_t *)"");
  hkdf_extract(&h, (nettle_hash_update_func *)hmac_sha256_update, (nettle_hash_digest_func *)hmac_sha256_digest,
               SHA256_DIGEST_SIZE, nikm, ikm, prk);
  hmac_sha256_set_key(&h, sizeof prk, prk);
  hkdf_expand(&h, (nettle_hash_update_func *)hmac_sha256_update, (nettle_hash_digest_func *)hmac_sha256_digest,
              SHA256_DIGEST_SIZE, strlen(info), (const uint8_t *)info, nout, out);
  wipe(prk, sizeof prk);
  wipe(&h, sizeof h);
}

/* ChaCha20-Poly1305 of in[0..n), its tag last, into out: false (out
 * wiped) when the tag does not check. */
static bool chacha_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *in, size_t n, uint8_t *out) {
  if (n < TAG) return false;
  struct chacha_poly1305_ctx c;
  uint8_t tag[TAG];
  chacha_poly1305_set_key(&c, key);
  chacha_poly1305_set_nonce(&c, nonce);
  chacha_poly1305_decrypt(&c, n - TAG, out, in);
  chacha_poly1305_digest(&c, TAG, tag);
  bool ok = memeql_sec(tag, in + n - TAG, TAG);
  wipe(&c, sizeof c);
  if (!ok) wipe(out, n - TAG);
  return ok;
}

/* AES-256-GCM of data[0..n) with iv and aad, into out: false (out wiped)
 * when the tag does not check. */
static bool gcm_open(const uint8_t key[32], const uint8_t *iv, size_t niv, const char *aad, size_t naad,
                     const uint8_t *data, size_t n, const uint8_t tag[TAG], uint8_t *out) {
  struct gcm_aes256_ctx c;
  uint8_t got[TAG];
  gcm_aes256_set_key(&c, key);
  gcm_aes256_set_iv(&c, niv, iv);
  gcm_aes256_update(&c, naad, (const uint8_t *)aad);
  gcm_aes256_decrypt(&c, n, out, data);
  gcm_aes256_digest(&c, TAG, got);
  bool ok = memeql_sec(got, tag, TAG);
  wipe(&c, sizeof c);
  if (!ok) wipe(out, n);
  return ok;
}

/* ---- age -------------------------------------------------------------- */

/* The binary age file that the armored text enc[0..n) holds, into out
 * (its length), or -1: "-----BEGIN AGE ENCRYPTED FILE-----", lines of
 * padded base64, 64 columns but the last, the END line; whitespace
 * around it is allowed, as age's armor reader allows it. */
static long age_unarmor(const char *s, size_t n, uint8_t *out) {
  static const char begin[] = "-----BEGIN AGE ENCRYPTED FILE-----", end[] = "-----END AGE ENCRYPTED FILE-----";
  while (n && strchr(" \t\r\n", *s)) s++, n--;
  while (n && strchr(" \t\r\n", s[n - 1])) n--;
  size_t nb = strlen(begin), ne = strlen(end);
  if (n < nb + ne + 2 || memcmp(s, begin, nb) || memcmp(s + n - ne, end, ne)) return -1;
  const char *p = s + nb, *stop = s + n - ne;
  buf b64 = {0};
  bool short_line = false, ok = *p == '\n' || (*p == '\r' && p[1] == '\n');
  p += *p == '\r' ? 2 : 1;
  while (ok && p < stop) {
    const char *nl = memchr(p, '\n', (size_t)(stop - p));
    size_t len = nl ? (size_t)(nl - p) : 0;
    if (!nl) ok = false;
    else if (len && p[len - 1] == '\r') len--;
    if (ok && (short_line || len > 64 || len == 0)) ok = false;
    short_line = len < 64;
    if (ok) buf_put(&b64, p, len);
    p = nl ? nl + 1 : stop;
  }
  long got = ok && b64.len % 4 == 0 ? unbase64(b64.data, b64.len, false, out, MAX_WRAPPED) : -1;
  buf_free(&b64);
  return got;
}

typedef struct {
  const uint8_t *share; /* an X25519 stanza's argument, decoded: 32 bytes */
  uint8_t share_buf[32];
  uint8_t body[FILE_KEY + TAG];
  bool x25519;
} stanza;

typedef struct {
  stanza st[MAX_STANZAS];
  size_t n;
  size_t mac_from;  /* the header MAC covers [0, mac_from) */
  uint8_t mac[32];
  size_t payload;   /* where the payload starts */
} age_header;

/* The line at *p (before end), without its newline; false when none. */
static bool next_line(const uint8_t **p, const uint8_t *end, const char **line, size_t *n) {
  const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
  if (!nl) return false;
  *line = (const char *)*p, *n = (size_t)(nl - *p);
  *p = nl + 1;
  return true;
}

/* A stanza's body: base64 lines of 64 columns, ended by a shorter one. */
static bool stanza_body(const uint8_t **p, const uint8_t *end, stanza *st) {
  buf b64 = {0};
  const char *line;
  size_t n;
  bool ok = false;
  while (b64.len <= 4 * 64 && next_line(p, end, &line, &n)) {
    buf_put(&b64, line, n);
    if (n < 64) {
      uint8_t body[4 * 48];
      long got = unbase64(b64.data ? b64.data : "", b64.len, true, body, sizeof body);
      ok = got >= 0;
      if (st->x25519) ok = got == sizeof st->body, memcpy(st->body, body, sizeof st->body);
      break;
    }
  }
  buf_free(&b64);
  return ok;
}

/* The header of the age file data[0..n): its stanzas (X25519's read,
 * others skipped), its MAC, where the payload starts. */
static bool age_parse(const uint8_t *data, size_t n, age_header *h) {
  const uint8_t *p = data, *end = data + n;
  const char *line;
  size_t len;
  if (!next_line(&p, end, &line, &len) || len != 21 || memcmp(line, "age-encryption.org/v1", 21)) return false;
  while (next_line(&p, end, &line, &len)) {
    if (len >= 3 && memcmp(line, "---", 3) == 0) {
      h->mac_from = (size_t)((const uint8_t *)line - data) + 3;
      h->payload = (size_t)(p - data);
      return len == 3 + 1 + 43 && line[3] == ' ' && unbase64(line + 4, 43, true, h->mac, 32) == 32;
    }
    if (h->n == MAX_STANZAS || len < 4 || memcmp(line, "-> ", 3)) return false;
    stanza *st = &h->st[h->n++];
    st->x25519 = len == 3 + 7 + 43 && memcmp(line + 3, "X25519 ", 7) == 0;
    if (st->x25519 && unbase64(line + 10, 43, true, st->share_buf, 32) != 32) return false;
    st->share = st->share_buf;
    if (!stanza_body(&p, end, st)) return false;
  }
  return false;
}

/* The file key of an X25519 stanza for identity id, as age's spec says:
 * the shared secret (never all zero), HKDF with the share and the
 * recipient as salt, ChaCha20-Poly1305 of the body under a zero nonce. */
static bool x25519_unwrap(const stanza *st, const uint8_t id[32], uint8_t file_key[FILE_KEY]) {
  uint8_t shared[32], salt[64], wrap[32], zero[32] = {0};
  curve25519_mul(shared, id, st->share);
  if (memeql_sec(shared, zero, 32)) return false;
  memcpy(salt, st->share, 32);
  curve25519_mul_g(salt + 32, id);
  hkdf_sha256(salt, 64, shared, 32, "age-encryption.org/v1/X25519", wrap, 32);
  bool ok = chacha_open(wrap, zero, st->body, sizeof st->body, file_key);
  wipe(shared, 32);
  wipe(wrap, 32);
  return ok;
}

/* The payload under the file key: the data key, one last STREAM chunk. */
static bool age_payload(const uint8_t *data, size_t n, const age_header *h, const uint8_t file_key[FILE_KEY],
                        uint8_t key[DATA_KEY]) {
  uint8_t hkey[32], mac[32], pkey[32], nonce[12] = {0}, plain[DATA_KEY];
  struct hmac_sha256_ctx m;
  hkdf_sha256(NULL, 0, file_key, FILE_KEY, "header", hkey, 32);
  hmac_sha256_set_key(&m, 32, hkey);
  hmac_sha256_update(&m, h->mac_from, data);
  hmac_sha256_digest(&m, 32, mac);
  bool ok = memeql_sec(mac, h->mac, 32) && n - h->payload == 16 + DATA_KEY + TAG;
  if (ok) {
    hkdf_sha256(data + h->payload, 16, file_key, FILE_KEY, "payload", pkey, 32);
    nonce[11] = 1; /* counter 0, the last chunk */
    ok = chacha_open(pkey, nonce, data + h->payload + 16, DATA_KEY + TAG, plain);
    if (ok) memcpy(key, plain, DATA_KEY);
  }
  wipe(hkey, 32), wipe(pkey, 32), wipe(plain, sizeof plain), wipe(&m, sizeof m);
  return ok;
}

/* 1 when one of the ring's identities opens the armored age file enc,
 * with the data key in key; 0 when none does; -1 after reporting. */
static int age_open(file *f, sops_ring *r, const value *enc, size_t *tries, uint8_t key[DATA_KEY]) {
  uint8_t *data = heap_alloc(MAX_WRAPPED);
  age_header h = {0};
  long n = enc->u.str.len <= 2 * MAX_WRAPPED ? age_unarmor(enc->u.str.s, enc->u.str.len, data) : -1;
  int got = 0;
  if (n < 0 || !age_parse(data, (size_t)n, &h)) {
    fail(f, enc->at, "the age key of %s is no armored age file", f->name);
    got = -1;
  }
  for (size_t i = 0; !got && i < h.n; i++) {
    for (size_t j = 0; h.st[i].x25519 && !got && j < r->nage; j++) {
      uint8_t file_key[FILE_KEY];
      if (++*tries > MAX_TRIES) {
        fail(f, enc->at, "%s has more recipients than plumb tries keys on (%d, for all its keys)", f->name, MAX_TRIES);
        got = -1;
      } else if (x25519_unwrap(&h.st[i], r->age[j], file_key)) {
        got = age_payload(data, (size_t)n, &h, file_key, key) ? 1 : -1;
        if (got < 0) fail(f, enc->at, "the age key of %s opens but does not check: it was changed", f->name);
      }
      wipe(file_key, sizeof file_key);
    }
  }
  free(data);
  return got;
}

/* ---- OpenPGP, through GnuPG ------------------------------------------- */

/* Where GPGME writes the data key: a buffer of ours, wiped, bounded. */
typedef struct {
  uint8_t b[DATA_KEY + 1];
  size_t n;
} sink_buf;

static ssize_t sink_write(void *h, const void *p, size_t n) {
  sink_buf *s = h;
  size_t room = sizeof s->b - s->n, k = n < room ? n : room;
  memcpy(s->b + s->n, p, k);
  s->n += k;
  return (ssize_t)n; /* more than the room is counted as written and dropped: s->n says too long */
}

/* A GPGME context on a GnuPG home of the compile's own, holding the
 * given OpenPGP keys; NULL after reporting. */
static gpgme_ctx_t gpg_of(file *f, sops_ring *r) {
  if (r->gpg || r->gpg_failed) return r->gpg;
  r->gpg_failed = true;
  const char *err;
  const compile_opts *o = eval_opts(f->ev);
  gpgme_check_version(NULL);
  r->home = tool_scratch_new(eval_arena(f->ev), o ? o->helm.tmp : NULL, &err);
  if (!r->home) return fail(f, f->at, "sops: cannot make a home for GnuPG: %s", err), NULL;
  gpgme_ctx_t c;
  if (gpgme_new(&c) || gpgme_ctx_set_engine_info(c, GPGME_PROTOCOL_OpenPGP, NULL, r->home) ||
      gpgme_set_pinentry_mode(c, GPGME_PINENTRY_MODE_LOOPBACK))
    return fail(f, f->at, "sops: GnuPG cannot be used (is gpg installed?)"), NULL;
  r->gpg = c;
  for (size_t i = 0; i < r->npgp; i++) {
    gpgme_data_t d;
    gpgme_import_result_t res = NULL;
    if (!gpgme_data_new_from_mem(&d, r->pgp[i]->data, r->pgp[i]->len, 0)) {
      if (!gpgme_op_import(c, d)) res = gpgme_op_import_result(c);
      gpgme_data_release(d);
    }
    if (!res || !res->secret_imported)
      return fail(f, (pos){0}, "sops: %s holds no OpenPGP secret key", r->pgp[i]->from), NULL;
  }
  r->gpg_failed = false;
  return c;
}

/* 1 when one of the ring's OpenPGP keys opens the armored message enc,
 * with the data key in key; 0 when none does; -1 after reporting. */
static int pgp_open(file *f, sops_ring *r, const value *enc, uint8_t key[DATA_KEY]) {
  gpgme_ctx_t c = gpg_of(f, r);
  if (!c) return -1;
  if (enc->u.str.len > MAX_WRAPPED) return 0;
  static struct gpgme_data_cbs cbs = {.write = sink_write};
  sink_buf out = {0};
  gpgme_data_t in, plain;
  if (gpgme_data_new_from_mem(&in, enc->u.str.s, enc->u.str.len, 0)) return 0;
  if (gpgme_data_new_from_cbs(&plain, &cbs, &out)) {
    gpgme_data_release(in);
    return 0;
  }
  gpgme_error_t e = gpgme_op_decrypt(c, in, plain);
  gpgme_data_release(in);
  gpgme_data_release(plain);
  int got = !e && out.n == DATA_KEY;
  if (got) memcpy(key, out.b, DATA_KEY);
  wipe(&out, sizeof out);
  return got;
}

/* ---- the metadata ------------------------------------------------------ */

static const value *meta_string(file *f, const value *m, const char *key, bool need) {
  const value *v = m ? value_object_get(m, key) : NULL;
  if (v && v->kind == V_STRING) return v;
  if (v || need) fail(f, v ? v->at : f->at, "the sops metadata of %s needs %s as a string", f->name, key);
  return NULL;
}

/* The master keys of one list (age, pgp, kms...) of m, each with the
 * field that names it. */
static bool add_masters(file *f, const value *m, const char *type, const char *id_field) {
  const value *list = value_object_get(m, type);
  if (!list || list->kind == V_NULL) return true;
  if (list->kind != V_LIST) return fail(f, list->at, "the sops metadata of %s needs %s as a list", f->name, type);
  for (size_t i = 0; i < list->u.list.len; i++) {
    const value *k = list->u.list.items[i];
    if (k->kind != V_OBJECT) return fail(f, k->at, "an entry of %s in the sops metadata of %s is no mapping", type, f->name);
    if (f->nkeys == MAX_RECIPIENTS) return fail(f, k->at, "%s has more than %d recipients", f->name, MAX_RECIPIENTS);
    const value *id = meta_string(f, k, id_field, true), *enc = meta_string(f, k, "enc", true);
    if (!id || !enc) return false;
    f->keys[f->nkeys++] = (master){type, id->u.str.s, enc};
  }
  return true;
}

/* sops' recipients: a group of lists, or one group of key_groups (the
 * lists win when both are there, as sops reads them). */
static bool read_masters(file *f, const value *m) {
  static const char *const types[][2] = {{"age", "recipient"},       {"pgp", "fp"},         {"kms", "arn"},
                                         {"gcp_kms", "resource_id"}, {"azure_kv", "name"},  {"hc_vault", "key_name"},
                                         {"hckms", "key_id"}};
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    if (!add_masters(f, m, types[i][0], types[i][1])) return false;
  const value *groups = value_object_get(m, "key_groups");
  if (f->nkeys || !groups || groups->kind == V_NULL) return true;
  if (groups->kind != V_LIST || groups->u.list.len != 1 || groups->u.list.items[0]->kind != V_OBJECT)
    return fail(f, groups->at,
                "%s splits its data key over several key groups (Shamir's secret sharing), which plumb does not read",
                f->name);
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    if (!add_masters(f, groups->u.list.items[0], types[i][0], types[i][1])) return false;
  return true;
}

/* The additional data of the MAC: lastmodified as Go's time.RFC3339
 * formats what it parsed (fractions of a second dropped, +00:00 as Z). */
static bool read_lastmodified(file *f, const value *v) {
  const char *s = v->u.str.s;
  size_t n = v->u.str.len, i = 19;
  static const char shape[] = "dddd-dd-ddTdd:dd:dd";
  bool ok = n >= 20 && n < sizeof f->lastmodified;
  for (size_t k = 0; ok && k < 19; k++)
    ok = shape[k] == 'd' ? s[k] >= '0' && s[k] <= '9' : s[k] == shape[k];
  if (ok && s[i] == '.') {
    while (++i < n && s[i] >= '0' && s[i] <= '9') {}
    ok = i > 20;
  }
  const char *zone = s + i;
  size_t nz = n - i;
  bool utc = nz == 1 && *zone == 'Z';
  bool offset = nz == 6 && (*zone == '+' || *zone == '-') && zone[3] == ':';
  if (!ok || !(utc || offset))
    return fail(f, v->at, "the lastmodified of %s's sops metadata is no RFC 3339 time", f->name);
  if (offset && strcmp(zone + 1, "00:00") == 0) utc = true, offset = false;
  snprintf(f->lastmodified, sizeof f->lastmodified, "%.19s%.*s", s, utc ? 1 : 6, utc ? "Z" : zone);
  return true;
}

/* The one rule of which values are encrypted. */
static bool read_rule(file *f, const value *m) {
  static const char *const names[] = {"unencrypted_suffix", "encrypted_suffix", "unencrypted_regex",
                                      "encrypted_regex",    "unencrypted_comment_regex", "encrypted_comment_regex"};
  int found = -1;
  for (int i = 0; i < 6; i++) {
    const value *v = meta_string(f, m, names[i], false);
    if (f->failed) return false;
    if (!v || !v->u.str.len) continue;
    if (found >= 0) return fail(f, v->at, "%s's sops metadata has both %s and %s; sops takes one", f->name, names[found], names[i]);
    if (i >= 4) return fail(f, v->at, "%s is encrypted by comments (%s), which plumb does not read", f->name, names[i]);
    found = i;
    f->rule = (rule_kind)i;
    f->rule_text = v->u.str.s;
  }
  if (found < 0) f->rule = UNENCRYPTED_SUFFIX, f->rule_text = "_unencrypted";
  if (f->rule != UNENCRYPTED_REGEX && f->rule != ENCRYPTED_REGEX) return true;
  int code;
  PCRE2_SIZE off;
  /* Go's regexp (RE2) syntax, which PCRE2 reads alike for what sops' users write. */
  f->re = pcre2_compile((PCRE2_SPTR)f->rule_text, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
  if (!f->re) return fail(f, f->at, "the %s of %s's sops metadata is no regular expression", names[found], f->name);
  f->md = pcre2_match_data_create(1, NULL);
  return true;
}

/* mac_only_encrypted, a bool (or, from a dotenv file, its text). */
static bool read_mac_only(file *f, const value *m) {
  const value *v = value_object_get(m, "mac_only_encrypted");
  if (!v || v->kind == V_NULL) return true;
  if (v->kind == V_BOOL) f->mac_only_encrypted = v->u.b;
  else if (v->kind == V_STRING && (!strcmp(v->u.str.s, "true") || !strcmp(v->u.str.s, "false")))
    f->mac_only_encrypted = v->u.str.s[0] == 't';
  else return fail(f, v->at, "the mac_only_encrypted of %s's sops metadata is no bool", f->name);
  return true;
}

static bool read_meta(file *f, const value *m) {
  f->at = m->at;
  if (m->kind != V_OBJECT) return fail(f, m->at, "the sops metadata of %s is no mapping", f->name);
  const value *lm = meta_string(f, m, "lastmodified", true);
  f->mac = meta_string(f, m, "mac", true);
  return lm && f->mac && read_lastmodified(f, lm) && read_rule(f, m) && read_mac_only(f, m) && read_masters(f, m);
}

/* ---- the data key ----------------------------------------------------- */

/* "age1... (age), 0123ABCD (pgp)": whom the file is encrypted for. */
static const char *recipients(file *f) {
  buf b = {0};
  for (size_t i = 0; i < f->nkeys; i++)
    buf_printf(&b, "%s%.100s (%s)", i ? ", " : "", f->keys[i].id, f->keys[i].type);
  const char *s = arena_strndup(eval_arena(f->ev), b.data ? b.data : "", b.len);
  buf_free(&b);
  return s;
}

/* age entries first, then OpenPGP ones, as sops' decryption order. */
static bool open_data_key(file *f) {
  sops_ring *r = keys_of(f->ev);
  if (!r) return false;
  size_t tries = 0;
  int got = 0;
  for (int pass = 0; pass < 2 && !got; pass++)
    for (size_t i = 0; i < f->nkeys && !got; i++) {
      if (strcmp(f->keys[i].type, pass ? "pgp" : "age")) continue;
      if (pass == 0 && r->nage) got = age_open(f, r, f->keys[i].enc, &tries, f->data_key);
      if (pass == 1 && r->npgp) got = pgp_open(f, r, f->keys[i].enc, f->data_key);
    }
  if (got) return got > 0;
  if (!f->nkeys) return fail(f, f->at, "%s is encrypted with sops for no recipient plumb reads", f->name);
  return fail(f, f->at,
              "%s is encrypted with sops for %s, and %s: give one with --sops-age-key-file, SOPS_AGE_KEY_FILE, "
              "SOPS_AGE_KEY or --sops-pgp-key-file",
              f->name, recipients(f), r->nage || r->npgp ? "none of the keys given opens it" : "no key was given");
}

/* ---- the values ------------------------------------------------------- */

/* Go's strconv.FormatFloat(x, 'f', -1, 64): the fewest digits that read
 * back as x, without an exponent. */
static void put_go_float(buf *b, double x) {
  char s[48];
  for (int p = 0; p < 17; p++) {
    snprintf(s, sizeof s, "%.*e", p, x);
    if (strtod(s, NULL) == x) break;
  }
  char *e = strchr(s, 'e'), digits[24];
  int exp = atoi(e + 1), nd = 0;
  for (char *p = s; p < e; p++)
    if (*p >= '0' && *p <= '9') digits[nd++] = *p;
  if (s[0] == '-') buf_putc(b, '-');
  if (exp < 0) {
    buf_puts(b, "0.");
    for (int i = -1; i > exp; i--) buf_putc(b, '0');
    buf_put(b, digits, (size_t)nd);
    return;
  }
  for (int i = 0; i <= exp; i++) buf_putc(b, i < nd ? digits[i] : '0');
  if (nd > exp + 1) buf_putc(b, '.'), buf_put(b, digits + exp + 1, (size_t)(nd - exp - 1));
}

/* A value's text in the MAC, as sops' ToBytes gives it. */
static void mac_value(file *f, const value *v) {
  buf b = {0};
  if (v->kind == V_STRING) {
    sha512_update(&f->hash, v->u.str.len, (const uint8_t *)v->u.str.s);
    return;
  }
  if (v->kind == V_BOOL) buf_puts(&b, v->u.b ? "True" : "False");
  else if (v->kind == V_INT) buf_put_int(&b, v->u.i);
  else put_go_float(&b, v->u.f);
  sha512_update(&f->hash, b.len, (const uint8_t *)b.data);
  buf_free(&b);
}

/* The parts of ENC[AES256_GCM,data:D,iv:I,tag:T,type:Y], or false. */
typedef struct {
  const char *part[4];
  size_t len[4];
} enc_parts;

static bool enc_split(const char *s, size_t n, enc_parts *e) {
  static const char *const marks[] = {"ENC[AES256_GCM,data:", ",iv:", ",tag:", ",type:"};
  const char *end = s + n;
  if (n < 1 || end[-1] != ']') return false;
  end--;
  for (int i = 0; i < 4; i++) {
    size_t k = strlen(marks[i]);
    if ((size_t)(end - s) < k || memcmp(s, marks[i], k)) return false;
    s += k;
    const char *next = i < 3 ? memmem(s, (size_t)(end - s), marks[i + 1], strlen(marks[i + 1])) : end;
    if (!next || next == s) return false;
    e->part[i] = s, e->len[i] = (size_t)(next - s);
    s = next;
  }
  return true;
}

static bool is_type(const enc_parts *e, const char *t) {
  return e->len[3] == strlen(t) && memcmp(e->part[3], t, e->len[3]) == 0;
}

/* The plaintext of the encrypted value v (`what` names it in messages),
 * with aad, into a buffer the caller wipes and frees; NULL after
 * reporting. */
static uint8_t *decrypt_bytes(file *f, const value *v, const char *aad, size_t naad, const char *what, enc_parts *e,
                              size_t *n) {
  uint8_t iv[MAX_IV], tag[TAG];
  if (v->kind != V_STRING || !enc_split(v->u.str.s, v->u.str.len, e))
    return fail(f, v->at, "%s of %s should be encrypted by sops and is not", what, f->name), NULL;
  uint8_t *data = heap_alloc(e->len[0]);
  long nd = unbase64(e->part[0], e->len[0], false, data, e->len[0]);
  long ni = unbase64(e->part[1], e->len[1], false, iv, sizeof iv);
  long nt = unbase64(e->part[2], e->len[2], false, tag, sizeof tag);
  uint8_t *out = nd >= 0 ? heap_alloc((size_t)nd + 1) : NULL;
  bool ok = nd >= 0 && ni > 0 && nt == TAG;
  if (!ok) fail(f, v->at, "%s of %s is malformed: no value sops encrypted", what, f->name);
  else if (!eval_charge(f->ev, v->at, ((size_t)nd + naad) / SCAN_BYTES + 1)) ok = false, f->failed = true;
  else if (!gcm_open(f->data_key, iv, (size_t)ni, aad, naad, data, (size_t)nd, tag, out))
    ok = fail(f, v->at, "%s of %s does not decrypt: it was changed, or moved from another key", what, f->name);
  free(data);
  if (!ok) {
    free(out);
    return NULL;
  }
  *n = (size_t)nd;
  out[*n] = '\0';
  return out;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s) {
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (int i = 0; i < 6; i++)
    if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) return !strcmp(s, yes[i]);
  return -1;
}

/* The text s[0..n) as Go's strconv.Atoi, ParseFloat or ParseBool read a
 * value of that type (NUL-free, no space, finite), or NULL. */
static value *read_typed(arena *a, pos at, const char *type, const char *s, size_t n) {
  char *rest = NULL;
  if (!n || strlen(s) != n || strchr(" \t\n\r\v\f", *s)) return NULL;
  errno = 0;
  if (!strcmp(type, "int")) {
    long long i = strtoll(s, &rest, 10);
    return !*rest && !errno ? value_int(a, at, i) : NULL;
  }
  if (!strcmp(type, "float")) {
    double x = strpbrk(s, "xXnN") ? NAN : strtod(s, &rest);
    return rest && !*rest && isfinite(x) ? value_float(a, at, x) : NULL;
  }
  int b = parse_bool(s);
  return b >= 0 ? value_bool(a, at, b) : NULL;
}

/* The decrypted value of e's type, at v's place, marked secret and kept
 * to be wiped if the file fails later. */
static value *typed(file *f, const value *v, const enc_parts *e, const uint8_t *p, size_t n, const char *what) {
  arena *a = eval_arena(f->ev);
  const char *type = arena_strndup(a, e->part[3], e->len[3]);
  value *out = NULL;
  if (is_type(e, "str") || is_type(e, "bytes") || is_type(e, "time"))
    out = value_string(a, v->at, (const char *)p, n);
  else if (is_type(e, "int") || is_type(e, "float") || is_type(e, "bool"))
    out = read_typed(a, v->at, type, (const char *)p, n);
  else
    return fail(f, v->at, "%s of %s has type %.20s, which sops does not write", what, f->name, type), NULL;
  if (!out) return fail(f, v->at, "%s of %s does not read as its type, %s", what, f->name, type), NULL;
  out->secret = true;
  f->plain = arena_room_for_one(a, f->plain, f->nplain, sizeof *f->plain);
  f->plain[f->nplain++] = out;
  return out;
}

/* What a failure leaves of a plaintext value. */
static void wipe_value(value *v) {
  if (v->kind == V_STRING) wipe((char *)v->u.str.s, v->u.str.len);
  else wipe(&v->u, sizeof v->u);
}

static value *walk(file *f, const value *v, bool matched, bool top);

/* "the value at data.password", the path's keys joined by dots. */
static const char *value_words(file *f) {
  char *p = arena_strndup(eval_arena(f->ev), f->path.data, f->path.len ? f->path.len - 1 : 0);
  for (char *c = p; *c; c++)
    if (*c == ':') *c = '.';
  return arena_printf(eval_arena(f->ev), "the value at %s", p);
}

/* A leaf: as it is, or its plaintext when the rule says it is encrypted;
 * into the MAC either way, unless mac_only_encrypted leaves it out. */
static value *leaf(file *f, const value *v, bool matched) {
  bool encrypted = f->rule == UNENCRYPTED_SUFFIX || f->rule == UNENCRYPTED_REGEX ? !matched : matched;
  if (!encrypted) {
    if (!f->mac_only_encrypted) mac_value(f, v);
    return (value *)v;
  }
  if (v->kind == V_STRING && !v->u.str.len) return (value *)v; /* sops leaves "" as it is */
  enc_parts e;
  size_t n;
  const char *what = value_words(f);
  uint8_t *p = decrypt_bytes(f, v, f->path.data, f->path.len, what, &e, &n);
  if (!p) return NULL;
  value *out = typed(f, v, &e, p, n, what);
  wipe(p, n);
  free(p);
  if (out) mac_value(f, out);
  return out;
}

/* Whether key meets the file's rule (a suffix, or a pattern anywhere). */
static bool rule_meets(file *f, const char *key, pos at) {
  if (f->rule == UNENCRYPTED_SUFFIX || f->rule == ENCRYPTED_SUFFIX) return ends_with(key, strlen(key), f->rule_text);
  int rc = regex_match(f->ev, at, f->re, (PCRE2_SPTR)key, strlen(key), 0, 0, f->md);
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) fail(f, at, "the pattern of %s's sops metadata cannot be matched", f->name);
  return rc >= 0;
}

static value *walk_object(file *f, const value *v, bool matched, bool top) {
  value *out = value_object(eval_arena(f->ev), v->at);
  value_reserve(eval_arena(f->ev), out, v->u.obj.len);
  for (size_t i = 0; i < v->u.obj.len && !f->failed; i++) {
    const field *fl = &v->u.obj.fields[i];
    if (top && !strcmp(fl->key, "sops")) continue;
    size_t was = f->path.len;
    buf_puts(&f->path, fl->key);
    buf_putc(&f->path, ':');
    bool meets = rule_meets(f, fl->key, fl->val->at);
    value *part = f->failed ? NULL : walk(f, fl->val, matched || meets, false);
    f->path.len = was;
    if (part) value_object_push(eval_arena(f->ev), out, fl->key, part);
  }
  return f->failed ? NULL : out;
}

static value *walk(file *f, const value *v, bool matched, bool top) {
  if (v->kind == V_NULL) return (value *)v; /* sops neither encrypts nor counts a null */
  if (v->kind == V_OBJECT) return walk_object(f, v, matched, top);
  if (v->kind != V_LIST) return leaf(f, v, matched);
  value *out = value_list(eval_arena(f->ev), v->at);
  value_reserve(eval_arena(f->ev), out, v->u.list.len);
  for (size_t i = 0; i < v->u.list.len && !f->failed; i++) {
    value *part = walk(f, v->u.list.items[i], matched, false);
    if (part) value_list_push(eval_arena(f->ev), out, part);
  }
  return f->failed ? NULL : out;
}

/* The MAC the file holds, decrypted, against the one computed. */
static bool check_mac(file *f) {
  uint8_t digest[SHA512_DIGEST_SIZE];
  char hex[2 * SHA512_DIGEST_SIZE + 1];
  sha512_digest(&f->hash, sizeof digest, digest);
  for (size_t i = 0; i < sizeof digest; i++) snprintf(hex + 2 * i, 3, "%02X", digest[i]);
  enc_parts e;
  size_t n;
  uint8_t *p = decrypt_bytes(f, f->mac, f->lastmodified, strlen(f->lastmodified), "the MAC", &e, &n);
  if (!p) return false;
  bool ok = is_type(&e, "str") && n == sizeof hex - 1 && memeql_sec(p, hex, n);
  wipe(p, n);
  free(p);
  return ok || fail(f, f->mac->at, "the MAC of %s does not match its values: the file was changed after sops encrypted it",
                    f->name);
}

/* docs decrypted, the `sops` mapping of each left out; NULL after
 * reporting, with the plaintext made so far wiped. */
static value *decrypt_docs(file *f, const value *docs) {
  const value *first = docs->u.list.len ? docs->u.list.items[0] : NULL;
  value *out = NULL;
  if (read_meta(f, value_object_get(first, "sops")) && open_data_key(f)) {
    sha512_init(&f->hash);
    out = value_list(eval_arena(f->ev), docs->at);
    for (size_t i = 0; i < docs->u.list.len && !f->failed; i++) {
      const value *d = docs->u.list.items[i];
      if (d->kind != V_OBJECT) fail(f, d->at, "document %zu of %s, which sops encrypted, is no mapping", i + 1, f->name);
      value *plain = f->failed ? NULL : walk(f, d, false, true);
      if (plain) value_list_push(eval_arena(f->ev), out, plain);
    }
    if (!f->failed) check_mac(f);
  }
  for (size_t i = 0; f->failed && i < f->nplain; i++) wipe_value(f->plain[i]);
  wipe(f->data_key, sizeof f->data_key);
  wipe(&f->hash, sizeof f->hash);
  buf_free(&f->path);
  pcre2_match_data_free(f->md);
  pcre2_code_free(f->re);
  return f->failed ? NULL : out;
}

/* ---- the formats ------------------------------------------------------ */

static bool docs_encrypted(const value *docs) {
  const value *first = docs && docs->u.list.len ? docs->u.list.items[0] : NULL;
  const value *m = first && first->kind == V_OBJECT ? value_object_get(first, "sops") : NULL;
  return m && m->kind == V_OBJECT && value_object_get(m, "mac");
}

/* The first value of v shaped as sops writes an encrypted one, or NULL. */
static const value *find_enc(const value *v) {
  if (v->kind == V_STRING) return !strncmp(v->u.str.s, "ENC[AES256_GCM,", 15) ? v : NULL;
  size_t n = v->kind == V_LIST ? v->u.list.len : v->kind == V_OBJECT ? v->u.obj.len : 0;
  const value *found = NULL;
  for (size_t i = 0; i < n && !found; i++)
    found = find_enc(v->kind == V_LIST ? v->u.list.items[i] : v->u.obj.fields[i].val);
  return found;
}

value *sops_docs(eval *ev, const char *name, const char *text, size_t len, value *docs) {
  if (!docs_encrypted(docs)) {
    /* Values sops encrypted without its metadata: a file cut short, or
     * its `sops` mapping taken out. Never passed on as they are. */
    const value *enc = memmem(text, len, "ENC[AES256_GCM,", 15) ? find_enc(docs) : NULL;
    if (enc) return eval_fail(ev, enc->at, "%s holds values sops encrypted, but no sops metadata with a MAC: it was cut short or changed", name);
    return docs;
  }
  sops_format fmt = sops_format_of(name);
  value *again;
  int rc = fmt == SOPS_JSON ? yaml_read_json(eval_arena(ev), eval_diags(ev), name, text, len, &again)
                            : yaml_read_v3(eval_arena(ev), eval_diags(ev), name, text, len, &again);
  if (rc < 0) return NULL;
  file f = {.ev = ev, .name = name, .at = {name, 1, 1}};
  return decrypt_docs(&f, again);
}

/* sops' dotenv metadata key ("sops_age__list_0__map_enc"), without its
 * prefix, placed into m with its value v: "__map_" opens a mapping,
 * "__list_N" a list, whose items come in order. */
static bool unflatten(file *f, value *m, const char *key, value *v, pos at) {
  arena *a = eval_arena(f->ev);
  value *here = m;
  for (const char *s = key;;) {
    const char *map = strstr(s, "__map_"), *list = strstr(s, "__list_");
    const char *cut = map && (!list || map < list) ? map : list;
    const char *name = arena_strndup(a, s, cut ? (size_t)(cut - s) : strlen(s));
    value *next = NULL;
    if (here->kind == V_OBJECT) {
      next = value_object_get(here, name);
    } else {
      char *e;
      unsigned long i = strtoul(name, &e, 10);
      if (!*name || *e || i > here->u.list.len) break;
      next = i < here->u.list.len ? here->u.list.items[i] : NULL;
    }
    if (next && !cut) break; /* a key given twice */
    if (!next) {
      next = !cut ? v : cut == map ? value_object(a, at) : value_list(a, at);
      if (here->kind == V_OBJECT) value_object_push(a, here, name, next);
      else value_list_push(a, here, next);
    }
    if (!cut) return true;
    if (next->kind != (cut == map ? V_OBJECT : V_LIST)) break;
    here = next;
    s = cut + (cut == map ? 6 : 7);
  }
  return fail(f, at, "the sops metadata of %s has a malformed key, sops_%s", f->name, key);
}

/* A dotenv file as sops reads it: KEY=VALUE lines, "\n" in a value a
 * newline, '#' lines and empty ones skipped; the sops_ keys its metadata. */
static value *dotenv_docs(file *f, const char *text, size_t len) {
  arena *a = eval_arena(f->ev);
  value *doc = value_object(a, (pos){f->name, 1, 1}), *meta = value_object(a, (pos){f->name, 1, 1});
  const char *s = text, *end = text + len;
  for (int line = 1; s < end && !f->failed; line++) {
    const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl : end, *eq = memchr(s, '=', (size_t)(e - s));
    pos at = {f->name, line, 1};
    if (e > s && *s != '#' && !eq) fail(f, at, "line %d of %s is no KEY=VALUE line", line, f->name);
    if (e > s && *s != '#' && eq) {
      buf b = {0};
      for (const char *p = eq + 1; p < e; p++) {
        bool escaped = *p == '\\' && p + 1 < e && p[1] == 'n';
        buf_putc(&b, escaped ? '\n' : *p);
        p += escaped;
      }
      value *v = value_string(a, (pos){f->name, line, (int)(eq - s) + 2}, b.data ? b.data : "", b.len);
      buf_free(&b);
      const char *key = arena_strndup(a, s, (size_t)(eq - s));
      if (!strncmp(key, "sops_", 5)) unflatten(f, meta, key + 5, v, at);
      else if (!value_object_add(a, doc, key, v)) fail(f, at, "%s has the key %s twice", f->name, key);
    }
    s = nl ? nl + 1 : end;
  }
  value_object_push(a, doc, "sops", meta);
  value *docs = value_list(a, doc->at);
  value_list_push(a, docs, doc);
  return f->failed ? NULL : docs;
}

static bool dotenv_encrypted(const char *text, size_t len) {
  return (len >= 9 && !memcmp(text, "sops_mac=", 9)) || memmem(text, len, "\nsops_mac=", 10);
}

/* A binary file's envelope, a JSON object; quiet when it is not one. */
static value *binary_docs(eval *ev, const char *name, const char *text, size_t len) {
  diag_list quiet;
  diag_init(&quiet, eval_arena(ev));
  value *docs;
  size_t i = 0;
  while (i < len && strchr(" \t\r\n", text[i])) i++;
  if (i == len || text[i] != '{' || !memmem(text, len, "\"sops\"", 6)) return NULL;
  return yaml_read_json(eval_arena(ev), &quiet, name, text, len, &docs) == 0 && docs_encrypted(docs) ? docs : NULL;
}

bool sops_text_encrypted(eval *ev, const char *name, const char *text, size_t len) {
  sops_format f = sops_format_of(name);
  if (f == SOPS_DOTENV) return dotenv_encrypted(text, len);
  if (f == SOPS_BINARY) return binary_docs(ev, name, text, len) != NULL;
  diag_list quiet;
  diag_init(&quiet, eval_arena(ev));
  value *docs;
  int rc = !memmem(text, len, "sops", 4) ? -1
           : f == SOPS_JSON             ? yaml_read_json(eval_arena(ev), &quiet, name, text, len, &docs)
                                        : yaml_read_v3(eval_arena(ev), &quiet, name, text, len, &docs);
  return rc == 0 && docs_encrypted(docs);
}

/* The dotenv text of a decrypted document, as sops writes it. */
static const char *dotenv_text(arena *a, const value *doc, size_t *out) {
  buf b = {0};
  for (size_t i = 0; i < doc->u.obj.len; i++) {
    const value *v = doc->u.obj.fields[i].val;
    buf_puts(&b, doc->u.obj.fields[i].key);
    buf_putc(&b, '=');
    for (size_t k = 0; v->kind == V_STRING && k < v->u.str.len; k++)
      if (v->u.str.s[k] == '\n') buf_puts(&b, "\\n");
      else buf_putc(&b, v->u.str.s[k]);
    if (v->kind != V_STRING) value_put_text(&b, v);
    buf_putc(&b, '\n');
  }
  char *s = arena_strndup(a, b.data ? b.data : "", b.len);
  *out = b.len;
  wipe(b.data, b.len);
  buf_free(&b);
  return s;
}

const char *sops_text(eval *ev, const char *name, const char *text, size_t len, size_t *out) {
  sops_format fmt = sops_format_of(name);
  file f = {.ev = ev, .name = name, .at = {name, 1, 1}};
  if (fmt == SOPS_YAML || fmt == SOPS_JSON) {
    fail(&f, f.at, "%s, which sops encrypted, holds %s documents, not one text: read it as resources or values",
         name, fmt == SOPS_YAML ? "YAML" : "JSON");
    return NULL;
  }
  value *docs = fmt == SOPS_DOTENV ? dotenv_docs(&f, text, len) : binary_docs(ev, name, text, len);
  value *plain = docs ? decrypt_docs(&f, docs) : NULL;
  const value *doc = plain && plain->u.list.len == 1 ? plain->u.list.items[0] : NULL;
  if (!doc) return NULL;
  if (fmt == SOPS_DOTENV) return dotenv_text(eval_arena(ev), doc, out);
  const value *data = value_object_get(doc, "data");
  if (!data || data->kind != V_STRING) {
    fail(&f, doc->at, "%s, which sops encrypted as binary, has no data", name);
    return NULL;
  }
  *out = data->u.str.len;
  return data->u.str.s;
}

/* ---- the end ---------------------------------------------------------- */

/* GnuPG's agent for the home is stopped, as gpgconf stops one, and the
 * home removed with the keys imported there. */
static void gpg_end(eval *ev, sops_ring *r) {
  if (r->gpg) gpgme_release(r->gpg);
  const char *gpgconf = gpgme_get_dirinfo("gpgconf-name");
  if (gpgconf) {
    char *argv[] = {(char *)gpgconf, "--homedir", (char *)r->home, "--kill", "gpg-agent", NULL};
    char *envp[] = {NULL};
    tool_limits l = {.wall = 10, .cpu = 10, .memory = 256 << 20, .output = 4096, .errors = 4096};
    tool_result res;
    tool_run(gpgconf, argv, envp, r->home, &l, 1, &res);
    buf_free(&res.out);
    buf_free(&res.err);
  }
  tool_scratch_remove(r->home);
}

void sops_end(eval *ev) {
  sops_ring *r = *eval_sops_ring(ev);
  if (!r) return;
  wipe(r->age, r->nage * sizeof *r->age);
  free(r->age);
  if (r->home) gpg_end(ev, r);
  *eval_sops_ring(ev) = NULL;
}
