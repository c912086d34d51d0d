/* The "kernel" side of the CO-RE fixtures. target.bpf.c compiles these definitions under their own names
 * into target.btf, the target BTF the tests relocate against. The test programs include this header again
 * with the names macro-renamed to image_*, without CO-RE, to lay out memory exactly as the target says;
 * they then read that memory through their own, deliberately different, ___l flavours of these types. */
#ifndef CORE_SAMPLE_H
#define CORE_SAMPLE_H

struct core_inner {
	int i1;
	long long i2;
};

enum core_state {
	CORE_IDLE = 0,
	CORE_RUNNING = 7,
	CORE_STOPPED = 9,
	CORE_HUGE = 0x90000000u, /* above INT_MAX in an unsigned 32-bit enum */
};

enum core_signed_state {
	CORE_NEG = -3,
	CORE_POS = 3,
};

/* Needs 64 bits: an ENUM64 in BTF. */
enum core_wide {
	CORE_WIDE_SMALL = 1,
	CORE_WIDE_BIG = 0x123456789aULL,
};

typedef unsigned int core_u32;

struct core_sample {
	int a;
	long long b;
	unsigned int c;
	short d;
	struct {
		int x;
		union {
			int y;
			core_u32 y_bits;
		};
	};
	char comm[16];
	unsigned int lo : 3;
	unsigned int mid : 9;
	int neg : 6;
	unsigned long long span : 40;
	enum core_state state;
	enum core_signed_state sstate;
	struct core_inner inner;
	struct core_inner *next;
	unsigned char kind;
	unsigned short count;
	int data[];
};

typedef struct core_sample core_sample_t;

struct core_match {
	int m1;
	unsigned long m2;
	struct core_inner *link;
};

#endif
