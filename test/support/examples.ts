import { fileURLToPath } from "node:url";

/** Absolute path of a file in the repository's examples/ folder. */
export const examplePath = (name: string): string => fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
