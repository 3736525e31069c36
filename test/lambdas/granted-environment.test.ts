/** The local stack gives each handler only its granted table variables, as AWS does. */
import { describe, expect, it } from 'vitest';
import { ROUTE_TABLE, grantedEnvironmentNames } from '../../lambdas/route-table';
import { runWithGrantedEnvironment, tableName } from '../../lambdas/runtime/env';

describe('granted environment', () => {
  it('hides the variables of tables a route was not granted', () => {
    process.env.TABLE_USERS = 'users-table';
    process.env.TABLE_INBOX = 'inbox-table';
    const send = grantedEnvironmentNames(ROUTE_TABLE.send);
    expect(runWithGrantedEnvironment(send, () => tableName('inbox'))).toBe('inbox-table');
    const ping = grantedEnvironmentNames(ROUTE_TABLE.ping);
    expect(() => runWithGrantedEnvironment(ping, () => tableName('users'))).toThrow(
      'Missing environment variable TABLE_USERS',
    );
    expect(tableName('users')).toBe('users-table'); // outside any scope: the process environment
  });

  it('keeps the scope across awaits', async () => {
    process.env.TABLE_USERS = 'users-table';
    const ping = grantedEnvironmentNames(ROUTE_TABLE.ping);
    await expect(
      runWithGrantedEnvironment(ping, async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return tableName('users');
      }),
    ).rejects.toThrow('TABLE_USERS');
  });
});
