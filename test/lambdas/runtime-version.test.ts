/**
 * npm test runs the handler and local-cloud suites twice: on the development Node and on Node 22
 * (tools/node22, the Lambda runtime's major version). This proves which one a run really used.
 */
import { describe, expect, it } from 'vitest';

describe('the Node running these suites', () => {
  it('is the major version npm test asked for (22 for the Lambda-fidelity run)', () => {
    const major = Number(process.versions.node.split('.')[0]);
    const expected = process.env.CIPHERLINE_EXPECT_NODE_MAJOR;
    if (expected) expect(major).toBe(Number(expected));
    else expect(major).toBeGreaterThanOrEqual(20);
  });
});
