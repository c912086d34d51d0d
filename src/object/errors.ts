/** A BPF object that cannot be read as libbpf would read it. One line: what is wrong and where. */
export class ObjectError extends Error {
  override name = "ObjectError";
}
