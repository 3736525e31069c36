/** The device's IndexedDB database (the sealed store), named apart so the app can look for it
 * without loading the store (session.svelte.ts). */
export const DEFAULT_STORE_NAME = 'cipherline';
