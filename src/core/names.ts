// "Essential" names: CO-RE matches types, fields and enumerators by name, ignoring a `___flavour` suffix, so
// that a program can carry several incompatible definitions of one kernel type (`task_struct___old`,
// `task_struct___new`) and let existence checks pick the one the running kernel has.

/** True when `name[at..at+5)` reads X___Y with X and Y not underscores (libbpf's flavour separator). */
function isFlavourSeparator(name: string, at: number): boolean {
  return (
    name.charCodeAt(at) !== UNDERSCORE &&
    name.charCodeAt(at + 1) === UNDERSCORE &&
    name.charCodeAt(at + 2) === UNDERSCORE &&
    name.charCodeAt(at + 3) === UNDERSCORE &&
    at + 4 < name.length &&
    name.charCodeAt(at + 4) !== UNDERSCORE
  );
}

const UNDERSCORE = 0x5f;

/** Length of the name before its last flavour separator (the whole length when there is none). */
export function essentialNameLength(name: string): number {
  for (let at = name.length - 5; at >= 0; at--) {
    if (isFlavourSeparator(name, at)) return at + 1;
  }
  return name.length;
}

/** The name without its `___flavour` suffix: `task_struct___v2` -> `task_struct`. */
export function essentialName(name: string): string {
  const length = essentialNameLength(name);
  return length === name.length ? name : name.slice(0, length);
}

/** Same essential name (libbpf's bpf_core_names_match: an anonymous target matches only an anonymous local). */
export function essentialNamesEqual(local: string, target: string): boolean {
  if (target === "") return local === "";
  return essentialName(local) === essentialName(target);
}
