/**
 * The layering rules of eslint.config.js and the import-cycle check of `npm run lint`
 * (scripts/import-cycles.mjs): each rule refuses the import it names, and the repository passes.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript without declarations
import { cyclesOf, importGraph } from '../../scripts/import-cycles.mjs';

const eslint = new ESLint();

/** The layering messages ESLint gives `code` as if it were the file at `filePath`. */
async function refusals(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport {};\n`, { filePath });
  return result!.messages
    .filter((message) => message.ruleId === 'no-restricted-imports')
    .map((message) => message.message);
}

// The first lint builds the TypeScript program for the type-aware rules: minutes on a loaded machine.
describe('layering by lint', { timeout: 300_000 }, () => {
  it.each([
    [
      'protocol/errors.ts',
      "import { x } from '../client/crypto/keys';",
      'nothing outside protocol',
    ],
    ['protocol/errors.ts', "import type { Page } from './events';", 'primitives import no frames'],
    ['protocol/events.ts', "import { BaseFrame } from './frames';", 'below the frames'],
    [
      'client/crypto/keys.ts',
      "import { x } from '../../lambdas/tables';",
      'only client/ and protocol/',
    ],
    ['client/session/inbox.ts', "import { x } from '../node/file-store';", 'through its ports'],
    ['cli/main.ts', "import { x } from '../tools/accounts';", 'only client/, protocol/'],
    ['web/src/main.ts', "import { x } from '../../infra/local/stack';", 'only client/, protocol/'],
    [
      'lambdas/runtime/env.ts',
      "import { x } from '../../infra/local/names';",
      'only lambdas/ and protocol/',
    ],
    ['lambdas/stores/users.ts', "import { x } from '../commands/send';", 'not the other way'],
    [
      'lambdas/stores/users.ts',
      "import type { ServerDeps } from '../runtime/deps';",
      'not the other way',
    ],
    [
      'lambdas/stores/users.ts',
      "import { ProtocolError } from '../../protocol/errors';",
      'Stores return outcomes',
    ],
    ['lambdas/shared/delivery.ts', "import { send } from '../commands/send';", 'never import one'],
    ['lambdas/commands/send.ts', "import { join } from './join';", 'no other command'],
    ['infra/local/web.ts', "import { x } from '../../web/src/main';", 'web/ source'],
    ['bench/server.ts', "import { x } from '../test/support/deps';", 'Only tests import test/'],
  ])('%s: refuses %s', async (filePath, code, message) => {
    expect((await refusals(filePath, code)).join(' ')).toContain(message);
  });

  it('lets each layer import what is below it', async () => {
    expect(
      await refusals('lambdas/commands/send.ts', "import { x } from '../shared/delivery';"),
    ).toEqual([]);
    expect(
      await refusals('lambdas/stores/inbox.ts', "import { x } from '../../protocol/limits';"),
    ).toEqual([]);
    expect(await refusals('protocol/catch-up.ts', "import type { Page } from './events';")).toEqual(
      [],
    );
    expect(await refusals('test/server/x.test.ts', "import { x } from '../support/deps';")).toEqual(
      [],
    );
  });
});

describe('exhaustive switches', { timeout: 300_000 }, () => {
  it('refuses a switch over a union that leaves a case out, even with a default', async () => {
    const code = [
      "import { missingCase } from '../../protocol/missing-case';",
      "export function size(kind: 'small' | 'large'): number {",
      '  switch (kind) {',
      "    case 'small':",
      '      return 1;',
      '    default:',
      '      return missingCase(kind as never);',
      '  }',
      '}',
    ].join('\n');
    // An existing file of the project, so the type-aware rule has its types; the text is ours.
    const [result] = await eslint.lintText(code, { filePath: 'lambdas/shared/pool.ts' });
    expect(result!.messages.map((message) => message.ruleId)).toContain(
      '@typescript-eslint/switch-exhaustiveness-check',
    );
  });
});

describe('import cycles', () => {
  it('finds a cycle made only of type imports', () => {
    const root = mkdtempSync(join(tmpdir(), 'cycles-'));
    try {
      mkdirSync(join(root, 'src'));
      writeFileSync(
        join(root, 'src/a.ts'),
        "import type { B } from './b';\nexport type A = B[];\n",
      );
      writeFileSync(
        join(root, 'src/b.ts'),
        "import type { A } from './a';\nexport type B = A | 1;\n",
      );
      writeFileSync(join(root, 'src/c.ts'), "import type { A } from './a';\nexport type C = A;\n");
      const cycles = cyclesOf(importGraph(root, ['src'])) as string[][];
      expect(cycles.map((cycle) => cycle.map((file) => file.slice(root.length)))).toEqual([
        ['/src/a.ts', '/src/b.ts'],
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds none in the repository', () => {
    expect(cyclesOf(importGraph(process.cwd()))).toEqual([]);
  });
});
