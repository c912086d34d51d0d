/* The programs' own view of the target types: ___l flavours that differ from core_sample.h on purpose
 * (reordered, renamed, resized, missing and extra fields, bitfields in another order, enums with other
 * values). CO-RE must map every access onto the target layout. Also the image_* copies of the target
 * layout, used to build memory the programs then read through the flavours. */
#ifndef LOCAL_TYPES_H
#define LOCAL_TYPES_H

#define core_inner image_core_inner
#define core_sample image_core_sample
#define core_sample_t image_core_sample_t
#define core_match image_core_match
#define core_state image_core_state
#define core_signed_state image_core_signed_state
#define core_wide image_core_wide
#define core_u32 image_core_u32
#include "core_sample.h"
#undef core_inner
#undef core_sample
#undef core_sample_t
#undef core_match
#undef core_state
#undef core_signed_state
#undef core_wide
#undef core_u32

#define __core __attribute__((preserve_access_index))

struct core_inner___l {
	long long i2;
	int i1;
} __core;

enum core_state___l {
	CORE_IDLE___l,
	CORE_RUNNING___l,
	CORE_STOPPED___l,
	CORE_GONE___l, /* not in the target */
	CORE_HUGE___l,
};

enum core_signed_state___l {
	CORE_NEG___l = 100,
	CORE_POS___l = 200,
};

enum core_wide___l {
	CORE_WIDE_SMALL___l = 10,
	CORE_WIDE_BIG___l = 0x100000000ULL,
};

/* A 32-bit enum standing for the target's ENUM64. */
enum core_wide___narrow {
	CORE_WIDE_SMALL___narrow = 20,
};

struct core_sample___l {
	char comm[16];
	long long b;
	int a;
	unsigned long long c;      /* 8 bytes here, 4 in the target: loads are narrowed */
	int d;                     /* a signed int here, a short there: loads cannot be resized */
	int x;                     /* inside an anonymous struct in the target */
	int y;                     /* inside an anonymous union inside it */
	unsigned int mid : 9;      /* bitfields in another order */
	unsigned int lo : 3;
	int neg : 6;
	unsigned long long span : 40;
	enum core_state___l state;
	enum core_signed_state___l sstate;
	int missing;               /* not in the target */
	struct core_inner___l inner;
	struct core_inner___l *next;
	unsigned short count;
	int data[];
} __core;

typedef struct core_sample___l core_sample_t___l;

/* The same struct seen by two program versions: one where the field was called alpha. */
struct core_sample___old {
	int pad;
	int alpha;
} __core;

struct core_sample___new {
	int a;
} __core;

struct core_absent___l {
	int z;
} __core;

/* TYPE_MATCHES: only the first flavour matches the target's struct core_match. */
struct core_match___ok {
	int m1;
	unsigned long m2;
	struct core_inner___l *link;
} __core;

struct core_match___int {
	long m1; /* the target's m1 is a 4-byte int */
} __core;

struct core_match___extra {
	int m1;
	int extra; /* not in the target */
} __core;

/* A zeroed stack buffer big enough for a target core_sample, its flexible array and a second one. */
#define SAMPLE_BUFFER_WORDS 32

#endif
