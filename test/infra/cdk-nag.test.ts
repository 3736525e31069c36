/**
 * cdk-nag's AwsSolutions checks, run as infra/app.ts runs them on every synthesis: no open
 * finding, in the default stack and with every context option set; every acknowledgement has a
 * written reason and answers a finding that really exists.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { REASONS } from '../../infra/cdk/acknowledgements';
import { CipherlineStack } from '../../infra/cdk/stack';
import { SETTING_KEYS } from '../../infra/cdk/settings';

interface Violation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
}

/** Synthesizes with the checks; returns the open findings as "rule at path". */
function openFindings(
  context: Record<string, unknown>,
  acknowledge = true,
): { findings: string[]; stack: CipherlineStack } {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-nag-'));
  try {
    const app = new App({
      outdir,
      builtinCloudFormationValidation: false,
      context: { 'aws:cdk:bundling-stacks': [], ...context },
    });
    const stack = new CipherlineStack(app, 'Cipherline', { acknowledgeFindings: acknowledge });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      app.synth();
      return { findings: [], stack };
    } catch {
      const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
        pluginReports: { violations: Violation[] }[];
      };
      const findings = report.pluginReports.flatMap((plugin) =>
        plugin.violations.flatMap((v) =>
          v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`),
        ),
      );
      return { findings, stack };
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Every acknowledgement in the tree: rule id, reason, and the construct path it sits on. */
function acknowledgements(root: IConstruct) {
  const found: { id: string; reason: string; path: string }[] = [];
  for (const construct of root.node.findAll())
    for (const entry of construct.node.metadata)
      if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>))
          found.push({ id: id.replace(/^annotation::/i, ''), reason, path: construct.node.path });
  return found;
}

const EVERY_OPTION = {
  [SETTING_KEYS.retainData]: 'false',
  [SETTING_KEYS.alarmEmail]: 'ops@example.com',
  [SETTING_KEYS.samLocal]: 'true',
  [SETTING_KEYS.logRetentionDays]: '90',
};

describe('cdk-nag AwsSolutions', () => {
  it('leaves no finding open in the default stack', () => {
    expect(openFindings({}).findings).toEqual([]);
  }, 60_000);

  it('leaves no finding open with every context option set', () => {
    expect(openFindings(EVERY_OPTION).findings).toEqual([]);
  }, 60_000);

  it('acknowledges only findings that exist, each with its written reason', () => {
    const open = openFindings(EVERY_OPTION, false).findings;
    const { stack } = openFindings(EVERY_OPTION);
    const acknowledged = acknowledgements(stack);
    expect(acknowledged.length).toBeGreaterThan(0);
    const reasons = new Set<string>(Object.values(REASONS));
    for (const { id, reason, path } of acknowledged) {
      expect(reasons.has(reason), `${id} at ${path} has one of the written reasons`).toBe(true);
      // The finding is reported on the resource itself or on a construct below the acknowledged one.
      expect(
        open.some(
          (finding) => finding.startsWith(`${id} at ${path}/`) || finding === `${id} at ${path}`,
        ),
        `${id} at ${path} answers an open finding`,
      ).toBe(true);
    }
    // And without them, exactly the acknowledged rules are open.
    const acknowledgedRules = new Set(acknowledged.map((a) => a.id));
    for (const finding of open) expect(acknowledgedRules).toContain(finding.split(' at ')[0]);
  }, 60_000);

  it('says why only $connect could carry an authorizer and how the handlers check the session', () => {
    expect(REASONS.routesWithoutAuthorizer).toContain('$connect');
    expect(REASONS.routesWithoutAuthorizer).toContain('UNAUTHENTICATED');
  });
});
