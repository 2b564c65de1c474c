/* A small unit-test harness: TEST(name) functions registered with RUN(name).
 * Every check that fails prints file:line and marks the test failed; main
 * returns non-zero if any test failed. Output: one "ok"/"FAIL" line per test,
 * then "# N passed, N failed" (counted by tests/run-bins.sh). */
#ifndef NSTACK_TEST_H
#define NSTACK_TEST_H

#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <inttypes.h>

static int test_failed_checks;
static int tests_passed, tests_failed;

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
	test_failed_checks++; } } while (0)

#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) { fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", \
	__FILE__, __LINE__, #a, #b, _a, _b); test_failed_checks++; } } while (0)

/* Stop the current test at the first failure when going on makes no sense. */
#define REQUIRE(cond) do { if (!(cond)) { \
	fprintf(stderr, "  %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
	test_failed_checks++; return; } } while (0)

#define TEST(name) static void test_##name(void)
#define RUN(name) do { test_failed_checks = 0; test_##name(); \
	if (test_failed_checks) { tests_failed++; printf("FAIL %s\n", #name); } \
	else { tests_passed++; printf("ok   %s\n", #name); } fflush(stdout); } while (0)

#define TEST_SUMMARY() (printf("# %d passed, %d failed\n", tests_passed, tests_failed), tests_failed ? 1 : 0)

#endif
