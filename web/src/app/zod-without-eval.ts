/**
 * Zod without its compiled parsers. The production Content-Security-Policy (infra/web-policy.ts)
 * allows no `eval`; zod 4 finds that out by trying `new Function('')` when a schema is first
 * built, which the browser reports as a script-src violation. `jitless` makes every schema built
 * afterwards parse by interpretation, so import this module before any module that builds one
 * (first in an entry point: imports run in order).
 */
import { z } from 'zod';

z.config({ jitless: true });
