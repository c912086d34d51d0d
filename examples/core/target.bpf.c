/* Source of target.btf: no programs, only variables, so that every type below lands in the object's BTF.
 * scripts/build-core-fixtures.sh extracts the .BTF section as the raw target BTF file. */
#include "core_sample.h"

/* Two flavours of one essential name that put field f at different offsets: relocating against them is
 * ambiguous (see ambiguous.bpf.c). */
struct core_amb___one {
	int pad;
	int f;
};
struct core_amb___two {
	int f;
};

/* Two flavours that agree on every field: field relocations resolve, target type ids do not. */
struct core_dup___one {
	int pad;
	int g;
};
struct core_dup___two {
	int pad;
	int g;
};

struct core_sample sample_var;
core_sample_t sample_typedef_var;
struct core_match match_var;
enum core_state state_var;
enum core_signed_state signed_state_var;
enum core_wide wide_var;
struct core_amb___one amb_one_var;
struct core_amb___two amb_two_var;
struct core_dup___one dup_one_var;
struct core_dup___two dup_two_var;
