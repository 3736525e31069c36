/** Which build this is (set by vite.config.ts), shown in Settings so an update can be seen. */
export const BUILD_ID: string = __CIPHERLINE_BUILD__;
