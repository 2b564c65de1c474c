/* Fuzz harness 3: the native socket API.
 *
 * A loopback stack (127.0.0.0/8 on a memdev loop, as NSTACK_IF=lo) gets a
 * sequence of nst_* calls with fuzzed arguments; after each call the stack is
 * run until its own frames are consumed (as preload/engine.c does for lo), so
 * connections between its sockets open, carry data and close for real.
 * One byte picks the call, the next bytes its arguments:
 *
 * (the call is the byte modulo 12; its high bits are arguments: socket type,
 * send/recv size shift and flags, shutdown how, sockopt level, time jump)
 *   0 socket   1 bind   2 listen   3 accept   4 connect   5 send   6 recv
 *   7 shutdown 8 close  9 setsockopt/getsockopt   10 time jump
 *   11 getsockname/getpeername/poll/SO_ERROR/FIONREAD/next deadline (0xfb: close_all),
 *      and first, by op / 12 % 4: nothing, nst_sendto, nst_recvfrom, nst_disconnect
 *
 * Socket arguments name one of the sds returned so far, or a raw value
 * (negative, out of range, closed). The leak check and sanitizers are the
 * oracle (fuzz.h).
 */
#include "tests/fuzz/fuzz.h"

#define API_SDS 16
#define API_ROUNDS 64

static int api_sd[API_SDS];
static unsigned api_n;

static int api_pick_sd(struct fz_in *in)
{
	uint8_t b = fz_u8(in);
	if (b & 0x80)   /* raw: -16..47 in the stream range, or the same in the datagram range */
		return (int)(b & 0x3f) - 16 + ((b & 0x40) ? NST_UDP_SD_BASE : 0);
	return api_n ? api_sd[b % api_n] : -1;
}

static uint32_t api_addr(struct fz_in *in)
{
	uint8_t b = fz_u8(in);
	switch (b & 3) {
	case 0: return 0;
	case 1: return FZ_LO;
	case 2: return 0x7f000000u | (uint32_t)fz_u16(in) << 8 | (b >> 2);
	default: return fz_u32(in);
	}
}

static uint16_t api_port(struct fz_in *in)
{
	uint8_t b = fz_u8(in);
	switch (b & 3) {
	case 0: return 0;
	case 1: return 80;
	case 2: return (uint16_t)(80 + (b >> 2) % 4);
	default: return fz_u16(in);
	}
}

/* Run the loop device until the stack has nothing left to say. */
static void api_run(void)
{
	F.st->now_us = F.now;
	for (int i = 0; i < API_ROUNDS && stack_poll(F.st, F.now) > 0; i++)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct stack *st;
	fz_setup(1);
	st = F.st;
	api_n = 0;
	static uint8_t buf[70000];
	while (fz_more(&in)) {
		uint8_t op = fz_u8(&in);
		switch (op % 12) {
		case 0: {
			int sd = nst_socket(st, (op >> 4) ? (op >> 4) % 4 : NST_SOCK_STREAM);
			if (sd >= 0 && api_n < API_SDS)
				api_sd[api_n++] = sd;
			break;
		}
		case 1: {
			int sd = api_pick_sd(&in);
			uint32_t a = api_addr(&in);
			nst_bind(st, sd, a, api_port(&in));
			break;
		}
		case 2: {
			int sd = api_pick_sd(&in);
			nst_listen(st, sd, (int8_t)fz_u8(&in), F.now);
			break;
		}
		case 3: {
			uint32_t a;
			uint16_t p;
			int sd = nst_accept(st, api_pick_sd(&in), (op & 0x10) ? &a : NULL, (op & 0x20) ? &p : NULL, F.now);
			if (sd >= 0 && api_n < API_SDS)
				api_sd[api_n++] = sd;
			else if (sd >= 0 && (op & 0x40))
				nst_close(st, sd, F.now);
			break;
		}
		case 4: {
			int sd = api_pick_sd(&in);
			uint32_t a = api_addr(&in);
			nst_connect(st, sd, a, api_port(&in), F.now);
			break;
		}
		case 5: {
			int sd = api_pick_sd(&in);
			size_t n = (size_t)fz_u8(&in) << ((op >> 4) & 7);
			int flags = (op & 0x80) ? NST_MSG_DONTWAIT | NST_MSG_NOSIGNAL : 0;
			memset(buf, op, n);
			nst_send(st, sd, buf, n, flags, F.now);
			break;
		}
		case 6: {
			static const int rflags[4] = { 0, NST_MSG_PEEK, NST_MSG_WAITALL, NST_MSG_DONTWAIT };
			int sd = api_pick_sd(&in);
			size_t n = (size_t)fz_u8(&in) << ((op >> 4) & 7);
			nst_recv(st, sd, buf, n, rflags[(op >> 6) & 3], F.now);
			break;
		}
		case 7:
			nst_shutdown(st, api_pick_sd(&in), (op >> 4) % 4, F.now);
			break;
		case 8:
			nst_close(st, api_pick_sd(&in), F.now);
			break;
		case 9: {
			static const int levels[4] = { 1 /* SOL_SOCKET */, 6 /* IPPROTO_TCP */, 0 /* IPPROTO_IP */, 17 };
			int sd = api_pick_sd(&in);
			int level = levels[(op >> 4) & 3];
			int name = fz_u8(&in) % 64;
			unsigned len = fz_u8(&in) % 70;
			/* exactly len bytes on the heap: ASan catches a write past them */
			uint8_t *val = calloc(1, len ? len : 1);
			if (!val)
				break;
			if (op & 0x40) {
				unsigned l = len;
				nst_getsockopt(st, sd, level, name, val, &l);
				if (l > len)
					fz_fail("getsockopt(%d, %d) says %u bytes for a buffer of %u", level, name, l, len);
			} else {
				fz_bytes(&in, val, len);
				nst_setsockopt(st, sd, level, name, val, len, F.now);
			}
			free(val);
			break;
		}
		case 10:
			F.now += fz_jumps[(op >> 4) & 7];
			break;
		default: {
			int sd = api_pick_sd(&in);
			uint32_t a;
			uint16_t p;
			switch ((op / 12) % 4) {        /* 11, 23, 35, 47: queries, sendto, recvfrom, disconnect */
			case 1: {
				size_t n = (size_t)fz_u8(&in) << (fz_u8(&in) % 9);
				int to_set = op & 0x80;
				a = api_addr(&in);
				p = api_port(&in);
				memset(buf, 'u', n);
				nst_sendto(st, sd, buf, n, NST_MSG_DONTWAIT, to_set, a, p, F.now);
				break;
			}
			case 2: {
				int out_flags = 0;
				size_t n = (size_t)fz_u8(&in) << 4;
				nst_recvfrom(st, sd, buf, n, (op & 0x80) ? NST_MSG_PEEK : 0, &a, &p, &out_flags, F.now);
				break;
			}
			case 3:
				nst_disconnect(st, sd);
				break;
			}
			nst_getsockname(st, sd, &a, &p);
			nst_getpeername(st, sd, &a, &p);
			nst_poll(st, sd);
			nst_sock_error(st, sd);
			nst_sock_type(st, sd);
			nst_rx_avail(st, sd);
			stack_next_deadline(st);
			if (op >= 0xf0)         /* 0xfb */
				nst_close_all(st, F.now);
			break;
		}
		}
		api_run();
		fz_check_tcbs();
	}
	for (int i = 0; i < 20; i++) {
		F.now += 130 * FZ_SEC;
		api_run();
	}
	nst_close_all(st, F.now);
	api_run();
	fz_teardown();
	return 0;
}
