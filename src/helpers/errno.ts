// Negative errno values helpers return, as the kernel's helpers do.
export const EPERM = -1;
export const ENOENT = -2;
export const ESRCH = -3;
export const E2BIG = -7;
export const EBUSY = -16;
export const EFAULT = -14;
export const EEXIST = -17;
export const EINVAL = -22;
export const ENOSPC = -28;
export const EOPNOTSUPP = -95;
