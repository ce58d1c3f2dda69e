/* test_arena.c: arena memory comes zeroed, a sized arena holds its size in
 * one chunk, formatting and integers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "plumb/arena.h"

static bool all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

/* arena_printf formats into the free end of the current chunk first; text
 * that does not fit there must not leave bytes behind. */
static void printf_longer_than_the_chunk_leaves_memory_zeroed(void **state) {
  arena *a = arena_new();
  size_t big = 3u << 20;
  char *fill = malloc(big + 1);
  memset(fill, 'x', big);
  fill[big] = '\0';
  arena_alloc(a, 1000);
  char *s = arena_printf(a, "<%s>", fill);
  assert_int_equal(strlen(s), big + 2);
  assert_true(all_zero(arena_alloc(a, 500000), 500000));
  assert_string_equal(arena_printf(a, "%d-%s", 42, "x"), "42-x");
  assert_true(all_zero(arena_alloc(a, 64), 64));
  free(fill);
  arena_free(a);
}

/* What a sized arena was made for lies in one block, each allocation
 * right after the last. */
static void a_sized_arena_holds_its_size_in_one_chunk(void **state) {
  arena *a = arena_new_sized(10 * 112);
  unsigned char *first = arena_alloc(a, 100);
  for (size_t i = 1; i < 10; i++) assert_ptr_equal(arena_alloc(a, 100), first + i * 112);
  assert_true(all_zero(first, 10 * 112));
  assert_int_equal(arena_used(a), 10 * 112);
  arena_alloc(a, 100); /* past its size it grows as any arena */
  arena_free(a);
}

static void integers_print_as_printf_does(void **state) {
  static const int64_t cases[] = {0, 7, -7, 1234567890123, INT64_MAX, INT64_MIN};
  static const char *const want[] = {"0", "7", "-7", "1234567890123", "9223372036854775807", "-9223372036854775808"};
  buf b = {0};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    b.len = 0;
    buf_put_int(&b, cases[i]);
    assert_string_equal(b.data, want[i]);
  }
  buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(printf_longer_than_the_chunk_leaves_memory_zeroed),
      cmocka_unit_test(a_sized_arena_holds_its_size_in_one_chunk),
      cmocka_unit_test(integers_print_as_printf_does),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
