// import() of a package that stays outside the bundle (WebAssembly and server packages). bin/godwit.js
// runs the bundle as a script compiled with V8's code cache, and Node 20 loses the import() callback
// of code that comes from a cache (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING): the launcher, an ES
// module, lends its own import() as globalThis.__godwitImport. Unbundled (tests, tools) this is import().

type Importer = (specifier: string) => Promise<unknown>;

/** Loads `specifier` through the launcher's import() when there is one. */
export async function importExternal<Module>(specifier: string): Promise<Module> {
  const lent = (globalThis as { __godwitImport?: Importer }).__godwitImport;
  return (await (lent !== undefined ? lent(specifier) : import(specifier))) as Module;
}
