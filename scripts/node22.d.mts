/** Types of ./node22.mjs for the TypeScript that imports it. */
export declare const REPO_ROOT: string;
export declare const NODE22_DIR: string;
export declare const NODE22_PATH: string;
export declare const NODE22_VERSION: string;
export declare function installedNode22Version(): string | undefined;
