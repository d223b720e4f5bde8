/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Classic BPF in user space: the validator, the interpreter that runs a
 * compiled filter over packets from files (the kernel's semantics: a load
 * past the captured bytes or a division by zero ends the program with 0),
 * and the tcpdump -d listing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "filter_int.h"

void netmoon__filter_seterr(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errbuf || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static bool valid_code(uint16_t code)
{
	switch (code) {
	case NF_LD | NF_W | NF_ABS: case NF_LD | NF_H | NF_ABS: case NF_LD | NF_B | NF_ABS:
	case NF_LD | NF_W | NF_IND: case NF_LD | NF_H | NF_IND: case NF_LD | NF_B | NF_IND:
	case NF_LD | NF_W | NF_LEN: case NF_LD | NF_IMM: case NF_LD | NF_MEM:
	case NF_LDX | NF_W | NF_IMM: case NF_LDX | NF_W | NF_MEM: case NF_LDX | NF_W | NF_LEN:
	case NF_LDX | NF_B | NF_MSH:
	case NF_ST: case NF_STX:
	case NF_RET | NF_K: case NF_RET | NF_A:
	case NF_MISC | NF_TAX: case NF_MISC | NF_TXA:
	case NF_JMP | NF_JA:
	case NF_ALU | NF_NEG:
		return true;
	default:
		break;
	}
	if (NF_CLASS(code) == NF_JMP && (code & ~(0xf0 | NF_X)) == NF_JMP)
		return NF_OP(code) >= NF_JEQ && NF_OP(code) <= NF_JSET;
	if (NF_CLASS(code) == NF_ALU && (code & ~(0xf0 | NF_X)) == NF_ALU)
		return NF_OP(code) <= NF_XOR && NF_OP(code) != NF_NEG;
	return false;
}

int netmoon__bpf_validate(const struct netmoon_bpf_insn *p, size_t n)
{
	size_t i;

	if (!p || n == 0 || n > NETMOON_FILTER_MAX_INSNS)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		uint16_t c = p[i].code;

		if (!valid_code(c))
			return -EINVAL;
		switch (NF_CLASS(c)) {
		case NF_JMP:
			if (NF_OP(c) == NF_JA) {
				if (p[i].k >= n - i - 1)
					return -EINVAL;
			} else if ((size_t)p[i].jt >= n - i - 1 || (size_t)p[i].jf >= n - i - 1) {
				return -EINVAL;
			}
			break;
		case NF_LD:
		case NF_LDX:
			if (NF_MODE(c) == NF_MEM && p[i].k >= NF_MEMWORDS)
				return -EINVAL;
			break;
		case NF_ST:
		case NF_STX:
			if (p[i].k >= NF_MEMWORDS)
				return -EINVAL;
			break;
		case NF_ALU:
			if ((NF_OP(c) == NF_DIV || NF_OP(c) == NF_MOD) && NF_SRC(c) == NF_K &&
			    p[i].k == 0)
				return -EINVAL;
			break;
		default:
			break;
		}
	}
	return NF_CLASS(p[n - 1].code) == NF_RET ? 0 : -EINVAL;
}

/* The bytes [off, off + size) must lie within the capture. */
static inline bool in_bounds(uint64_t off, uint32_t size, uint32_t caplen)
{
	return off + size <= caplen;
}

static inline uint32_t load(const uint8_t *pkt, uint64_t off, uint32_t size)
{
	if (size == 4)
		return netmoon__rd32be(pkt + off);
	if (size == 2)
		return netmoon__rd16be(pkt + off);
	return pkt[off];
}

uint32_t netmoon__bpf_run(const struct netmoon_bpf_insn *p, size_t n, const uint8_t *pkt,
			  uint32_t caplen, uint32_t wirelen)
{
	uint32_t A = 0, X = 0, mem[NF_MEMWORDS] = { 0 };
	size_t pc = 0;

	while (pc < n) {
		const struct netmoon_bpf_insn *in = &p[pc++];
		uint32_t size, src;
		uint64_t off;

		switch (NF_CLASS(in->code)) {
		case NF_RET:
			return NF_RVAL(in->code) == NF_A ? A : in->k;
		case NF_LD:
		case NF_LDX:
			switch (NF_MODE(in->code)) {
			case NF_IMM:
				src = in->k;
				break;
			case NF_LEN:
				src = wirelen;
				break;
			case NF_MEM:
				if (in->k >= NF_MEMWORDS)
					return 0;
				src = mem[in->k];
				break;
			case NF_ABS:
			case NF_IND:
			case NF_MSH:
				size = NF_SIZE(in->code) == NF_W ? 4 : NF_SIZE(in->code) == NF_H ? 2 : 1;
				off = in->k;
				if (NF_MODE(in->code) == NF_IND)
					off += X;
				if (!in_bounds(off, size, caplen))
					return 0;
				src = load(pkt, off, size);
				if (NF_MODE(in->code) == NF_MSH)
					src = (src & 0xf) << 2;
				break;
			default:
				return 0;
			}
			if (NF_CLASS(in->code) == NF_LD)
				A = src;
			else
				X = src;
			break;
		case NF_ST:
		case NF_STX:
			if (in->k >= NF_MEMWORDS)
				return 0;
			mem[in->k] = NF_CLASS(in->code) == NF_ST ? A : X;
			break;
		case NF_MISC:
			if (NF_MISCOP(in->code) == NF_TAX)
				X = A;
			else
				A = X;
			break;
		case NF_JMP: {
			bool t;

			src = NF_SRC(in->code) == NF_X ? X : in->k;
			switch (NF_OP(in->code)) {
			case NF_JA:
				if (in->k >= n - pc)
					return 0;
				pc += in->k;
				continue;
			case NF_JEQ:
				t = A == src;
				break;
			case NF_JGT:
				t = A > src;
				break;
			case NF_JGE:
				t = A >= src;
				break;
			case NF_JSET:
				t = (A & src) != 0;
				break;
			default:
				return 0;
			}
			pc += t ? in->jt : in->jf;
			break;
		}
		case NF_ALU:
			src = NF_SRC(in->code) == NF_X ? X : in->k;
			switch (NF_OP(in->code)) {
			case NF_ADD: A += src; break;
			case NF_SUB: A -= src; break;
			case NF_MUL: A *= src; break;
			case NF_DIV:
				if (src == 0)
					return 0;
				A /= src;
				break;
			case NF_MOD:
				if (src == 0)
					return 0;
				A %= src;
				break;
			case NF_AND: A &= src; break;
			case NF_OR: A |= src; break;
			case NF_XOR: A ^= src; break;
			case NF_LSH: A = src < 32 ? A << src : 0; break;
			case NF_RSH: A = src < 32 ? A >> src : 0; break;
			case NF_NEG: A = 0u - A; break;
			default:
				return 0;
			}
			break;
		default:
			return 0;
		}
	}
	return 0; /* fell off the end: impossible for a validated program */
}

NETMOON_API int netmoon_filter_match(const struct netmoon_filter *f, const uint8_t *data,
				     uint32_t caplen, uint32_t wirelen)
{
	if (!f || (!data && caplen))
		return -EINVAL;
	return netmoon__bpf_run(f->insns, f->len, data, caplen, wirelen) != 0;
}

/* One instruction as libpcap's bpf_image() prints it. */
static void image(const struct netmoon_bpf_insn *p, size_t n, char *out, size_t outlen)
{
	const char *op = "unimp";
	char operand[64] = "";
	uint16_t c = p->code;
	int sk = (int)p->k;

	switch (c) {
	case NF_RET | NF_K: op = "ret"; snprintf(operand, sizeof(operand), "#%d", sk); break;
	case NF_RET | NF_A: op = "ret"; break;
	case NF_LD | NF_W | NF_ABS: op = "ld"; snprintf(operand, sizeof(operand), "[%d]", sk); break;
	case NF_LD | NF_H | NF_ABS: op = "ldh"; snprintf(operand, sizeof(operand), "[%d]", sk); break;
	case NF_LD | NF_B | NF_ABS: op = "ldb"; snprintf(operand, sizeof(operand), "[%d]", sk); break;
	case NF_LD | NF_W | NF_LEN: op = "ld"; snprintf(operand, sizeof(operand), "#pktlen"); break;
	case NF_LD | NF_W | NF_IND: op = "ld"; snprintf(operand, sizeof(operand), "[x + %d]", sk); break;
	case NF_LD | NF_H | NF_IND: op = "ldh"; snprintf(operand, sizeof(operand), "[x + %d]", sk); break;
	case NF_LD | NF_B | NF_IND: op = "ldb"; snprintf(operand, sizeof(operand), "[x + %d]", sk); break;
	case NF_LD | NF_IMM: op = "ld"; snprintf(operand, sizeof(operand), "#0x%x", p->k); break;
	case NF_LDX | NF_IMM: op = "ldx"; snprintf(operand, sizeof(operand), "#0x%x", p->k); break;
	case NF_LDX | NF_LEN: op = "ldx"; snprintf(operand, sizeof(operand), "#pktlen"); break;
	case NF_LDX | NF_B | NF_MSH: op = "ldxb"; snprintf(operand, sizeof(operand), "4*([%d]&0xf)", sk); break;
	case NF_LD | NF_MEM: op = "ld"; snprintf(operand, sizeof(operand), "M[%d]", sk); break;
	case NF_LDX | NF_MEM: op = "ldx"; snprintf(operand, sizeof(operand), "M[%d]", sk); break;
	case NF_ST: op = "st"; snprintf(operand, sizeof(operand), "M[%d]", sk); break;
	case NF_STX: op = "stx"; snprintf(operand, sizeof(operand), "M[%d]", sk); break;
	case NF_JMP | NF_JA: op = "ja"; snprintf(operand, sizeof(operand), "%d", (int)(n + 1 + p->k)); break;
	case NF_MISC | NF_TAX: op = "tax"; break;
	case NF_MISC | NF_TXA: op = "txa"; break;
	case NF_ALU | NF_NEG: op = "neg"; break;
	default:
		if (NF_CLASS(c) == NF_JMP) {
			static const char *const jn[] = { "ja", "jeq", "jgt", "jge", "jset" };

			if (NF_OP(c) >> 4 < 5)
				op = jn[NF_OP(c) >> 4];
			if (NF_SRC(c) == NF_X)
				snprintf(operand, sizeof(operand), "x");
			else
				snprintf(operand, sizeof(operand), "#0x%x", p->k);
		} else if (NF_CLASS(c) == NF_ALU) {
			static const char *const an[] = { "add", "sub", "mul", "div", "or", "and",
							  "lsh", "rsh", "neg", "mod", "xor" };
			unsigned o = NF_OP(c) >> 4;
			bool hex = NF_OP(c) == NF_AND || NF_OP(c) == NF_OR || NF_OP(c) == NF_XOR;

			if (o < 11)
				op = an[o];
			if (NF_SRC(c) == NF_X)
				snprintf(operand, sizeof(operand), "x");
			else if (hex)
				snprintf(operand, sizeof(operand), "#0x%x", p->k);
			else
				snprintf(operand, sizeof(operand), "#%d", sk);
		}
		break;
	}
	if (NF_CLASS(c) == NF_JMP && NF_OP(c) != NF_JA)
		snprintf(out, outlen, "(%03d) %-8s %-16s jt %d\tjf %d\n", (int)n, op, operand,
			 (int)(n + 1 + p->jt), (int)(n + 1 + p->jf));
	else
		snprintf(out, outlen, "(%03d) %-8s %s\n", (int)n, op, operand);
}

NETMOON_API int netmoon_filter_dump(const struct netmoon_filter *f, char *buf, size_t len)
{
	size_t i, total = 0;
	char line[128];

	if (!f || (!buf && len))
		return -EINVAL;
	if (len)
		buf[0] = '\0';
	for (i = 0; i < f->len; i++) {
		size_t l;

		image(&f->insns[i], i, line, sizeof(line));
		l = strlen(line);
		if (total < len) {
			size_t room = len - total - 1;

			memcpy(buf + total, line, l < room ? l : room);
			buf[total + (l < room ? l : room)] = '\0';
		}
		total += l;
	}
	return total > (size_t)INT32_MAX ? INT32_MAX : (int)total;
}
