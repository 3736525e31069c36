/**
 * The default of every exhaustive switch (typescript-eslint's switch-exhaustiveness-check is on):
 * `value` has type `never` there, so a case left out fails to compile. A value outside its type
 * can still arrive at run time (bytes decoded without a schema): then this throws `failure`, the
 * caller's own error for it, or a plain Error.
 */
export function missingCase(value: never, failure?: Error): never {
  throw failure ?? new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
