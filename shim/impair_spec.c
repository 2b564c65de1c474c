/* NSTACK_IMPAIR: the parser of the fault-injection specification, apart from
 * the device so that the launcher (cli/) can check a specification before it
 * runs anything. No packets, no OS: a string in, a struct out.
 *
 *   loss=0.05,dup=0.01,reorder=0.02,corrupt=0.001,delay_us=200,seed=7[,dir=both|tx|rx]
 *
 * Probabilities are fractions (0.05) or percentages (5%) per frame, applied to
 * each direction independently; delay_us is a fixed one-way delay added to
 * every frame; seed makes a run repeatable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shim/shim.h"

/* "0.05" or "5%" -> parts per million; -EINVAL outside [0, 1]. */
static int impair_prob(const char *v, unsigned *ppm)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v)
		return -EINVAL;
	if (*end == '%') {
		d /= 100.0;
		end++;
	}
	if (*end || !(d >= 0.0 && d <= 1.0))
		return -EINVAL;
	*ppm = (unsigned)(d * 1e6 + 0.5);
	return 0;
}

static int impair_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	if (!*v || *v == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	if (*end || errno || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

/* Parse spec into *out. On error -EINVAL, and if bad is given, the offending
 * item ("key=value") is copied there for the message. */
int impair_parse(const char *spec, struct impair_spec *out, char *bad, size_t bad_len)
{
	char buf[256];
	memset(out, 0, sizeof(*out));
	out->seed = 1;
	out->dir = IMPAIR_BOTH;
	if (!spec || strlen(spec) >= sizeof(buf))
		goto fail_all;
	strcpy(buf, spec);
	for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq)
			goto fail;
		*eq = 0;
		const char *k = item, *v = eq + 1;
		int r = -EINVAL;
		uint64_t x;
		if (!strcmp(k, "loss"))
			r = impair_prob(v, &out->loss_ppm);
		else if (!strcmp(k, "dup"))
			r = impair_prob(v, &out->dup_ppm);
		else if (!strcmp(k, "reorder"))
			r = impair_prob(v, &out->reorder_ppm);
		else if (!strcmp(k, "corrupt"))
			r = impair_prob(v, &out->corrupt_ppm);
		else if (!strcmp(k, "delay_us")) {
			r = impair_u64(v, IMPAIR_DELAY_MAX_US, &x);
			out->delay_us = x;
		} else if (!strcmp(k, "jitter_us")) {
			r = impair_u64(v, IMPAIR_DELAY_MAX_US, &x);
			out->jitter_us = x;
		} else if (!strcmp(k, "rate_mbit")) {
			char *end;
			errno = 0;
			double m = strtod(v, &end);
			r = end == v || *end || errno || !(m > 0 && m <= 1e6) ? -EINVAL : 0;
			out->rate_bps = m * 1e6;
		} else if (!strcmp(k, "seed")) {
			r = impair_u64(v, UINT64_MAX, &x);
			out->seed = x;
		} else if (!strcmp(k, "dir")) {
			r = 0;
			if (!strcmp(v, "both"))
				out->dir = IMPAIR_BOTH;
			else if (!strcmp(v, "tx"))
				out->dir = IMPAIR_TX;
			else if (!strcmp(v, "rx"))
				out->dir = IMPAIR_RX;
			else
				r = -EINVAL;
		}
		if (r < 0) {
			*eq = '=';
			goto fail;
		}
		continue;
fail:
		if (bad && bad_len)
			snprintf(bad, bad_len, "%s", item);
		return -EINVAL;
	}
	return 0;
fail_all:
	if (bad && bad_len)
		snprintf(bad, bad_len, "%s", spec ? spec : "");
	return -EINVAL;
}

int impair_parse_dirs(const char *spec, struct impair_spec *tx, struct impair_spec *rx,
		      char *bad, size_t bad_len)
{
	char buf[512];
	struct impair_spec part;
	memset(tx, 0, sizeof(*tx));
	memset(rx, 0, sizeof(*rx));
	tx->seed = rx->seed = 1;
	if (!spec || strlen(spec) >= sizeof(buf)) {
		if (bad && bad_len)
			snprintf(bad, bad_len, "%s", spec ? spec : "");
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (char *save = NULL, *one = strtok_r(buf, ";", &save); one;
	     one = strtok_r(NULL, ";", &save)) {
		if (impair_parse(one, &part, bad, bad_len) < 0)
			return -EINVAL;
		if (part.dir & IMPAIR_TX)
			*tx = part;
		if (part.dir & IMPAIR_RX)
			*rx = part;
	}
	return 0;
}
