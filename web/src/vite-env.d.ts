/// <reference types="vite/client" />

/** Set at build time (vite.config.ts): which build this is, shown in Settings. */
declare const __CIPHERLINE_BUILD__: string;
