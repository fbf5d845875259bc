/**
 * libc's functions through koffi, for the few syscalls Node has no API for (netlink sockets,
 * setns, thread priority and CPU placement, getdents64). Each caller gives the C declarations
 * and the interface they are typed by; koffi's functions are untyped, so `any` stays in here.
 */
import koffi from 'koffi';

let lib: ReturnType<typeof koffi.load> | undefined;

/**
 * The functions declared in `declarations` (name -> C declaration), typed as `T`. Throws when
 * koffi or libc cannot be loaded, or libc lacks one of them: each caller decides what that means.
 */
export function libcFunctions<T>(declarations: { readonly [K in keyof T]: string }): T {
  lib ??= koffi.load('libc.so.6');
  const loaded = lib;
  const functions: Record<string, unknown> = {};
  for (const [name, declaration] of Object.entries<string>(declarations)) functions[name] = loaded.func(declaration) as unknown;
  return functions as T;
}
