// The hooked function of the attach/detach tests, in a shared library so that a section name can find it
// by file name (uprobe/libvictim.so:hot_function). It counts its own calls in the caller's counter: the
// call the hook counts and the call the victim counts are then the same event, complete once the thread is
// back in its caller.
__attribute__((noipa)) long hot_function(long x, long *calls) {
  *calls += 1;
  return x * 3 + 1;
}
