/** The local stack gives each handler only its granted table variables, as AWS does. */
import { describe, expect, it } from 'vitest';
import { ROUTE_TABLE, grantedEnvironmentNames } from '../../lambdas/route-table';
import { serverDeps } from '../../lambdas/runtime/deps';
import { grantedNamesOf, tableName, withGrantedEnvironment } from '../../lambdas/runtime/env';

const lambdaContext = { functionName: 'cipherline-test', awsRequestId: 'r1' };

describe('granted environment', () => {
  it('hides the variables of tables a route was not granted', () => {
    process.env.TABLE_USERS = 'users-table';
    process.env.TABLE_INBOX = 'inbox-table';
    const send = grantedEnvironmentNames(ROUTE_TABLE.send);
    expect(tableName('inbox', send)).toBe('inbox-table');
    const ping = grantedEnvironmentNames(ROUTE_TABLE.ping);
    expect(() => tableName('users', ping)).toThrow('Missing environment variable TABLE_USERS');
    expect(tableName('users')).toBe('users-table'); // no grants given: the process environment
  });

  it("marks an invocation's context without changing what the handler reads from it", () => {
    const ping = grantedEnvironmentNames(ROUTE_TABLE.ping);
    const marked = withGrantedEnvironment(lambdaContext, ping);
    expect(marked.functionName).toBe('cipherline-test');
    expect(grantedNamesOf(marked)).toBe(ping);
    expect(grantedNamesOf(lambdaContext)).toBeUndefined();
  });

  it('gives each function stores that resolve only its own tables, however late they do', async () => {
    process.env.TABLE_USERS = 'users-table';
    process.env.TABLE_CONNECTIONS = 'connections-table';
    const ping = withGrantedEnvironment(lambdaContext, grantedEnvironmentNames(ROUTE_TABLE.ping));
    const signup = withGrantedEnvironment(
      lambdaContext,
      grantedEnvironmentNames(ROUTE_TABLE.signup),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(() => serverDeps(ping).users).toThrow('TABLE_USERS');
    expect(serverDeps(signup).users).toBeDefined();
    expect(serverDeps(ping).connections).toBeDefined();
    expect(serverDeps(ping)).toBe(serverDeps(ping)); // made once per function
    expect(serverDeps().users).toBeDefined(); // in AWS: the process environment
  });
});
