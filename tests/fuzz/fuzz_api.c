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
 * IPv6 (the loopback stack serves ::1 beside 127/8):
 *   0 with bit 3:   nst_socket6 (an AF_INET6 socket, dual-stack until IPV6_V6ONLY)
 *   1, 3, 4 with bit 7: nst_bind_addr, nst_accept_addr, nst_connect_addr with an
 *                   address of either family (api_addr6: ::, ::1, v4-mapped ones,
 *                   link-local, multicast, raw 16 bytes)
 *   9 with bit 7:   level IPPROTO_IPV6 (IPV6_UNICAST_HOPS, V6ONLY, TCLASS,
 *                   MTU_DISCOVER, RECVPKTINFO, RECVHOPLIMIT, or a raw name)
 *   11 sendto / recvfrom with bit 6: nst_sendmsg_addr / nst_recvmsg_addr
 *                   (either family, per-datagram hop limit and traffic class)
 *   6 with bit 3:   nst_recv_err (IP_RECVERR's queue: ICMP errors of the loopback,
 *                   local EMSGSIZE errors) and nst_recv_ctl
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

/* An address of either family for the *_addr calls. */
static struct nst_addr api_addr6(struct fz_in *in)
{
	struct nst_addr a = { 0 };
	uint8_t b = fz_u8(in);
	switch (b & 7) {
	case 0: break;                                  /* :: */
	case 1: a.b[15] = 1; break;                     /* ::1 */
	case 2: a = nst_addr_from_v4(FZ_LO); break;     /* ::ffff:127.0.0.1 */
	case 3: a = nst_addr_from_v4(0); break;         /* ::ffff:0.0.0.0 */
	case 4: a = nst_addr_from_v4(api_addr(in)); break;
	case 5:                                         /* fe80::N, a link-local */
		a.b[0] = 0xfe;
		a.b[1] = 0x80;
		a.b[15] = fz_u8(in);
		break;
	case 6:                                         /* ff0S::N, multicast */
		a.b[0] = 0xff;
		a.b[1] = (uint8_t)(b >> 4);
		a.b[15] = fz_u8(in);
		break;
	default:
		fz_bytes(in, a.b, 16);
		break;
	}
	return a;
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
			int type = (op >> 4) ? (op >> 4) % 4 : NST_SOCK_STREAM;
			int sd = (op & 0x08) ? nst_socket6(st, type) : nst_socket(st, type);
			if (sd >= 0 && api_n < API_SDS)
				api_sd[api_n++] = sd;
			break;
		}
		case 1: {
			int sd = api_pick_sd(&in);
			if (op & 0x80) {
				struct nst_addr a6 = api_addr6(&in);
				nst_bind_addr(st, sd, &a6, api_port(&in));
				break;
			}
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
			struct nst_addr a6;
			uint16_t p;
			int sd = (op & 0x80) ?
				nst_accept_addr(st, api_pick_sd(&in), (op & 0x10) ? &a6 : NULL, (op & 0x20) ? &p : NULL, F.now) :
				nst_accept(st, api_pick_sd(&in), (op & 0x10) ? &a : NULL, (op & 0x20) ? &p : NULL, F.now);
			if (sd >= 0 && api_n < API_SDS)
				api_sd[api_n++] = sd;
			else if (sd >= 0 && (op & 0x40))
				nst_close(st, sd, F.now);
			break;
		}
		case 4: {
			int sd = api_pick_sd(&in);
			if (op & 0x80) {
				struct nst_addr a6 = api_addr6(&in);
				nst_connect_addr(st, sd, &a6, api_port(&in), F.now);
				break;
			}
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
			if (op & 0x08) {
				/* the error queue and the control messages asked for */
				struct nst_sock_err e;
				int fl;
				ssize_t r = nst_recv_err(st, sd, buf, n, &e, &fl, F.now);
				if (r > (ssize_t)n)
					fz_fail("nst_recv_err copied %zd bytes into %zu", r, n);
				nst_recv_ctl(st, sd);
				break;
			}
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
			/* IPPROTO_IPV6: the options the stack implements, or a raw name */
			static const int v6names[6] = { 16 /* IPV6_UNICAST_HOPS */, 26 /* IPV6_V6ONLY */,
				67 /* IPV6_TCLASS */, 23 /* IPV6_MTU_DISCOVER */, 49 /* IPV6_RECVPKTINFO */,
				51 /* IPV6_RECVHOPLIMIT */ };
			int sd = api_pick_sd(&in);
			int level = (op & 0x80) ? 41 /* IPPROTO_IPV6 */ : levels[(op >> 4) & 3];
			uint8_t nb = fz_u8(&in);
			int name = level != 41 ? nb % 64 : (nb & 0x80) ? nb % 80 : v6names[nb % 6];
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
			struct nst_addr a6;
			uint16_t p;
			switch ((op / 12) % 4) {        /* 11, 23, 35, 47: queries, sendto, recvfrom, disconnect */
			case 1: {
				size_t n = (size_t)fz_u8(&in) << (fz_u8(&in) % 9);
				int to_set = op & 0x80;
				if (op & 0x40) {
					/* hop limit and traffic class: -1 (the socket's) or a byte */
					struct nst_send_info si = { -1, -1 };
					uint8_t sb = fz_u8(&in);
					if (sb & 1)
						si.hops = (int16_t)(fz_u8(&in) - (sb & 2));     /* -2..255 */
					if (sb & 4)
						si.tclass = (int16_t)(fz_u8(&in) - (sb & 8) / 4);
					a6 = api_addr6(&in);
					p = api_port(&in);
					memset(buf, 'v', n);
					nst_sendmsg_addr(st, sd, buf, n, NST_MSG_DONTWAIT, to_set, &a6, p,
							 (sb & 0x10) ? NULL : &si, F.now);
					break;
				}
				a = api_addr(&in);
				p = api_port(&in);
				memset(buf, 'u', n);
				nst_sendto(st, sd, buf, n, NST_MSG_DONTWAIT, to_set, a, p, F.now);
				break;
			}
			case 2: {
				int out_flags = 0;
				size_t n = (size_t)fz_u8(&in) << 4;
				int flags = (op & 0x80) ? NST_MSG_PEEK : 0;
				if (op & 0x40) {
					struct nst_dgram_info info;
					nst_recvmsg_addr(st, sd, buf, n, flags, &a6, &p, &out_flags, &info, F.now);
					break;
				}
				nst_recvfrom(st, sd, buf, n, flags, &a, &p, &out_flags, F.now);
				break;
			}
			case 3:
				nst_disconnect(st, sd);
				break;
			}
			nst_getsockname(st, sd, &a, &p);
			nst_getpeername(st, sd, &a, &p);
			nst_getsockname_addr(st, sd, &a6, &p);
			nst_getpeername_addr(st, sd, &a6, &p);
			nst_sock_family(st, sd);
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
