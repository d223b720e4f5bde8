/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The first-fragment cache: later fragments of an IP datagram carry no
 * transport header, so the only way to count them in their connection is to
 * remember where the first fragment went.  The cache is direct-mapped and
 * bounded: a newer datagram simply takes the slot of an older one, and a
 * fragment whose first fragment is gone (or was never seen, or arrives
 * first) is counted as unattributed rather than guessed.
 *
 * A slot names its connection by entry index and connection id, so a slot
 * left behind by a connection that has since been removed (and whose entry
 * was reused) is recognised as stale without any cleanup.
 */
#include <errno.h>
#include <stdlib.h>

#include "conntable_int.h"

struct ct_frag_slot {
	uint64_t src[2];
	uint64_t dst[2];
	uint32_t frag_id;
	uint32_t idx;      /* entry index + 1; 0 = empty slot */
	uint64_t tag;      /* connection id | proto << 48 | version << 56 | dir << 60 */
};

_Static_assert(sizeof(struct ct_frag_slot) == 48, "fragment slot grew");

#define FRAG_MAX_SLOTS (1u << 24)

int netmoon__frag_init(struct ct_frag *fc, uint32_t slots)
{
	uint32_t n = 1;

	if (slots > FRAG_MAX_SLOTS)
		return -EINVAL;
	while (n < slots)
		n <<= 1;
	fc->slots = calloc(n, sizeof(*fc->slots));
	if (!fc->slots)
		return -ENOMEM;
	fc->mask = n - 1;
	return 0;
}

void netmoon__frag_free(struct ct_frag *fc)
{
	free(fc->slots);
	fc->slots = NULL;
}

size_t netmoon__frag_bytes(const struct ct_frag *fc)
{
	return ((size_t)fc->mask + 1) * sizeof(struct ct_frag_slot);
}

static uint64_t frag_tag_key(const struct netmoon_frame *f)
{
	return (uint64_t)f->ip_proto << 48 | (uint64_t)(f->ip_version & 0xf) << 56;
}

static struct ct_frag_slot *frag_slot(const struct ct_frag *fc, const struct netmoon_frame *f,
				      uint64_t src[2], uint64_t dst[2])
{
	uint64_t h;

	memcpy(src, f->src_addr, 16);
	memcpy(dst, f->dst_addr, 16);
	h = (src[0] ^ src[1] * UINT64_C(0x9e3779b97f4a7c15)) +
	    (dst[0] ^ dst[1] * UINT64_C(0xc2b2ae3d27d4eb4f)) * 3 +
	    ((uint64_t)f->frag_id << 8 | f->ip_proto);
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return &fc->slots[h & fc->mask];
}

void netmoon__frag_remember(struct ct_frag *fc, const struct netmoon_frame *f, uint32_t idx,
			    uint64_t id, unsigned d)
{
	uint64_t src[2], dst[2];
	struct ct_frag_slot *s = frag_slot(fc, f, src, dst);

	memcpy(s->src, src, sizeof(src));
	memcpy(s->dst, dst, sizeof(dst));
	s->frag_id = f->frag_id;
	s->idx = idx + 1;
	s->tag = (id & CT_ID_MASK) | frag_tag_key(f) | (uint64_t)(d & 1) << 60;
}

bool netmoon__frag_lookup(const struct ct_frag *fc, const struct netmoon_frame *f,
			  uint32_t *idx, uint64_t *id, unsigned *d)
{
	uint64_t src[2], dst[2];
	const struct ct_frag_slot *s = frag_slot(fc, f, src, dst);

	if (!s->idx || s->frag_id != f->frag_id ||
	    (s->tag & (UINT64_C(0xfff) << 48)) != frag_tag_key(f) ||
	    memcmp(s->src, src, sizeof(src)) || memcmp(s->dst, dst, sizeof(dst)))
		return false;
	*idx = s->idx - 1;
	*id = s->tag & CT_ID_MASK;
	*d = (unsigned)(s->tag >> 60) & 1;
	return true;
}
